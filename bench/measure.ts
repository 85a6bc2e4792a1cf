// What every part of `npm run bench` measures with: calls timed one by one, spread over
// concurrent loops, two sides compared in rounds that alternate which goes first.

export interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
}

/** One run: every call's latency (ms) and the wall time. */
export interface Sample {
  times: number[];
  wall: number;
}

/** `ops` calls of `op(i, worker)` spread over `workers` concurrent loops. */
export async function sample(ops: number, workers: number, op: (i: number, worker: number) => Promise<unknown>): Promise<Sample> {
  const times: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = next++; i < ops; i = next++) {
        const t = performance.now();
        await op(i, worker);
        times.push(performance.now() - t);
      }
    }),
  );
  return { times, wall: performance.now() - start };
}

/** p50 and p99 of latencies. */
export function percentiles(times: readonly number[]): { p50: number; p99: number } {
  const sorted = [...times].sort((a, b) => a - b);
  return { p50: sorted[Math.floor(sorted.length * 0.5)]!, p99: sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))]! };
}

/** Throughput over all samples, latency percentiles over all calls. */
export function summarise(samples: readonly Sample[]): Figures {
  const times = samples.flatMap((s) => s.times);
  const wall = samples.reduce((sum, s) => sum + s.wall, 0);
  return { perSecond: (times.length / wall) * 1000, ...percentiles(times) };
}

export const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/**
 * `a` against `b`: rounds of `n` calls each, the order alternating between rounds so that
 * drift on the machine hits both alike; the ratio (a's throughput over b's) is the median of
 * the rounds' ratios, so that a GC pause or a checkpoint in one round does not decide it.
 * `n` starts at `ops / rounds` and grows until a round lasts `minRoundMs`: a round of a
 * sub-0.1 ms operation over 16 clients would otherwise be a few dozen calls per client, which
 * measures the scheduler and the collector more than the operation.
 */
export async function compare(
  { ops, rounds, workers, minRoundMs = 250 }: { ops: number; rounds: number; workers: number; minRoundMs?: number },
  a: (i: number, worker: number) => Promise<unknown>,
  b: (i: number, worker: number) => Promise<unknown>,
): Promise<{ a: Figures; b: Figures; ratio: number }> {
  let n = Math.max(workers, Math.round(ops / rounds));
  // Calibration (not counted): both sides once at the starting size.
  const pilot = Math.min((await sample(n, workers, a)).wall, (await sample(n, workers, b)).wall);
  if (pilot < minRoundMs) n = Math.min(n * 50, Math.ceil((n * minRoundMs) / Math.max(pilot, 1)));
  const sa: Sample[] = [];
  const sb: Sample[] = [];
  const ratios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const first = round % 2 === 0 ? await sample(n, workers, a) : undefined;
    const y = await sample(n, workers, b);
    const x = first ?? (await sample(n, workers, a));
    sa.push(x);
    sb.push(y);
    ratios.push(y.wall / x.wall);
  }
  return { a: summarise(sa), b: summarise(sb), ratio: median(ratios) };
}
