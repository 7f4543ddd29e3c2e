// A CPU-bound job for the CpuPool: count the primes below `limit` (a plain module whose
// default export does the work; it runs on a pool thread).
export default function countPrimes({ limit }) {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}
