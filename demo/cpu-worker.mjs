// The demo's CPU work, run on the CpuPool's threads: spin for `ms` milliseconds
// computing something, as a CPU-bound request would, and return it.
export default function cpuWork({ ms }) {
  const end = performance.now() + ms;
  let x = 1;
  let rounds = 0;
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) x = (x * 48271) % 2147483647;
    rounds++;
  }
  return { rounds, x };
}
