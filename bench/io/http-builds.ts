/**
 * `io.http` build against build: this checkout's `HttpServer` (bench/io/http-greenlet.mjs on
 * its dist/), another checkout's (the same script in DIR, on DIR's dist/) and plain
 * `node:http` (bench/io/http-plain.mjs), each loaded by autocannon as `io.http` loads them
 * (50 keep-alive connections), taken in turn, the order rotated every round so that none
 * always runs first on a warmer machine; prints each server's median and the two ratios to
 * plain.
 *
 *     npm run build && node --import tsx bench/io/http-builds.ts --base DIR [--rounds 5] [--seconds 5]
 *
 * On a shared machine a round moves by ±15 %; a difference of a few per cent between the two
 * builds needs the instruction counts (http-instructions.ts), not this.
 */
import autocannon from 'autocannon';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { median } from '../harness.js';
import { startServer } from './child.js';

const { values } = parseArgs({
  options: { base: { type: 'string' }, rounds: { type: 'string', default: '5' }, seconds: { type: 'string', default: '5' } },
});
if (values.base === undefined) throw new Error('usage: node --import tsx bench/io/http-builds.ts --base DIR [--rounds N] [--seconds S] (DIR: a checkout with dist/ built)');
const servers: Record<string, string> = {
  plain: 'http-plain.mjs',
  this: 'http-greenlet.mjs',
  base: resolve(values.base, 'bench/io/http-greenlet.mjs'),
};

/** Requests per second of one server, 50 keep-alive connections. */
async function rate(script: string): Promise<number> {
  const server = await startServer(script);
  try {
    const result = await autocannon({ url: `http://127.0.0.1:${server.port}/`, connections: 50, duration: Number(values.seconds) });
    if (result.errors + result.timeouts + result.non2xx > 0) throw new Error(`${script}: ${result.errors} errors under load`);
    return result.requests.average;
  } finally {
    await server.stop();
  }
}

const names = Object.keys(servers);
const rates: Record<string, number[]> = Object.fromEntries(names.map((name) => [name, []]));
for (let round = 0; round < Number(values.rounds); round++) {
  for (let i = 0; i < names.length; i++) {
    const name = names[(round + i) % names.length] as string;
    (rates[name] as number[]).push(await rate(servers[name] as string));
  }
  console.log(`round ${round + 1}: ${names.map((name) => `${name} ${Math.round((rates[name] as number[]).at(-1) as number)}`).join(', ')}`);
}
const medians = Object.fromEntries(names.map((name) => [name, median(rates[name] as number[])]));
console.log(
  `medians: plain ${Math.round(medians.plain as number)}, this ${Math.round(medians.this as number)} (${((medians.this as number) / (medians.plain as number)).toFixed(2)}), ` +
    `base ${Math.round(medians.base as number)} (${((medians.base as number) / (medians.plain as number)).toFixed(2)}) req/s`,
);
