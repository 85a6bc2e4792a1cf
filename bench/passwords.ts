// Part 4 of `npm run bench`: the password layer at fastapi-fullauth's parameters next to the
// native libraries called directly (what the layer adds: argument checks, the strict parse of the
// stored hash, a cached dynamic import), and the event loop while hashes run.
// Alone: `npm exec -- tsx bench/passwords.ts` (BENCH_PASSWORD_RUNS=20 by default).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { hashPassword } from '../src/passwords/hash.js';
import { ARGON2ID_PARAMETERS, BCRYPT_COST } from '../src/passwords/policy.js';
import { verifyPassword } from '../src/passwords/verify.js';
import { percentiles } from './measure.js';

const RUNS = Number(process.env.BENCH_PASSWORD_RUNS ?? 20);
const CONCURRENT = 8;
const PASSWORD = 'correct horse battery staple ✓';

type Percentiles = ReturnType<typeof percentiles>;
const ms = (value: number) => `${value.toFixed(1).padStart(6)} ms`;
const figures = (p: Percentiles) => `p50 ${ms(p.p50)}, p99 ${ms(p.p99)}`;

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** RUNS timings of each side, interleaved (which goes first alternates) after one warm-up each. */
async function pair(ours: () => Promise<unknown>, direct: () => Promise<unknown>): Promise<{ ours: Percentiles; direct: Percentiles }> {
  await ours();
  await direct();
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    if (i % 2 === 0) {
      a.push(await time(ours));
      b.push(await time(direct));
    } else {
      b.push(await time(direct));
      a.push(await time(ours));
    }
  }
  return { ours: percentiles(a), direct: percentiles(b) };
}

export async function runPasswordBench(): Promise<string[]> {
  let argon2: typeof import('@node-rs/argon2');
  let bcrypt: typeof import('@node-rs/bcrypt');
  try {
    argon2 = await import('@node-rs/argon2');
    bcrypt = await import('@node-rs/bcrypt');
  } catch (error) {
    return [`passwords: skipped, @node-rs/argon2 or @node-rs/bcrypt is not installed (${(error as Error).message.split('\n', 1)[0]})`];
  }
  const p = ARGON2ID_PARAMETERS;
  // Numbers: the library's Algorithm/Version enums are empty objects at run time.
  const argon2Options = { algorithm: 2, version: 1, memoryCost: p.memoryCost, timeCost: p.timeCost, parallelism: p.parallelism, outputLen: p.hashLength };
  const argon2Hash = await hashPassword(PASSWORD);
  const bcryptHash = await hashPassword(PASSWORD, { algorithm: 'bcrypt' });

  const rows: [string, { ours: Percentiles; direct: Percentiles }][] = [
    ['argon2id hash  ', await pair(() => hashPassword(PASSWORD), () => argon2.hash(PASSWORD, argon2Options))],
    ['argon2id verify', await pair(() => verifyPassword(PASSWORD, argon2Hash), () => argon2.verify(argon2Hash, PASSWORD))],
    ['bcrypt hash    ', await pair(() => hashPassword(PASSWORD, { algorithm: 'bcrypt' }), () => bcrypt.hash(PASSWORD, BCRYPT_COST))],
    ['bcrypt verify  ', await pair(() => verifyPassword(PASSWORD, bcryptHash), () => bcrypt.verify(PASSWORD, bcryptHash))],
  ];

  // The event loop while CONCURRENT hashes run at once on libuv's thread pool.
  const aloneTimes: number[] = [];
  for (let i = 0; i < 5; i++) aloneTimes.push(await time(() => hashPassword(PASSWORD)));
  const alone = percentiles(aloneTimes);
  const histogram = monitorEventLoopDelay({ resolution: 2 });
  histogram.enable();
  const together = await time(() => Promise.all(Array.from({ length: CONCURRENT }, () => hashPassword(PASSWORD))));
  histogram.disable();
  const worst = histogram.max / 1e6;

  const lines = [
    `passwords at fastapi-fullauth's parameters (argon2id m=${p.memoryCost} KiB, t=${p.timeCost}, p=${p.parallelism}; bcrypt cost ${BCRYPT_COST}; ${RUNS} runs each, interleaved, after a warm-up)`,
    ...rows.map(([label, r]) => `  ${label}  ours ${figures(r.ours)}   library direct ${figures(r.direct)}   ratio (p50) ${(r.ours.p50 / r.direct.p50).toFixed(2)}`),
    `  event loop while ${CONCURRENT} argon2id hashes run at once: worst delay ${worst.toFixed(1)} ms (one hash alone ${alone.p50.toFixed(1)} ms, the ${CONCURRENT} together ${together.toFixed(1)} ms; libuv thread pool ${process.env.UV_THREADPOOL_SIZE ?? 4} threads)`,
  ];
  return lines;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const line of await runPasswordBench()) console.log(line);
}
