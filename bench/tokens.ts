// fastapi-fullauth tokens: issuing and verifying an access token through
// `fastapiFullauthTokens()` against the same JWT made and checked with jose called directly,
// in the same run. Goal: ≥ 0.9× the library.
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { fastapiFullauthTokens } from '../src/index.js';

const OPS = Number(process.env.BENCH_TOKEN_OPS ?? 20_000);
const ROUNDS = 6;
const SECRET = 'bench secret';

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
}

async function run(ops: number, op: () => Promise<unknown>): Promise<{ times: number[]; wall: number }> {
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < ops; i++) {
    const t = performance.now();
    await op();
    times.push(performance.now() - t);
  }
  return { times, wall: performance.now() - start };
}

async function compare(ours: () => Promise<unknown>, library: () => Promise<unknown>) {
  await run(2000, ours);
  await run(2000, library);
  const a: number[] = [];
  const b: number[] = [];
  const ratios: number[] = [];
  let wallA = 0;
  let wallB = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const first = round % 2 === 0 ? await run(OPS / ROUNDS, ours) : undefined;
    const y = await run(OPS / ROUNDS, library);
    const x = first ?? (await run(OPS / ROUNDS, ours));
    a.push(...x.times);
    b.push(...y.times);
    wallA += x.wall;
    wallB += y.wall;
    ratios.push(y.wall / x.wall);
  }
  const figures = (times: number[], wall: number): Figures => {
    times.sort((p, q) => p - q);
    return { perSecond: (times.length / wall) * 1000, p50: times[Math.floor(times.length / 2)]!, p99: times[Math.floor(times.length * 0.99)]! };
  };
  ratios.sort((p, q) => p - q);
  return { ours: figures(a, wallA), library: figures(b, wallB), ratio: ratios[Math.floor(ROUNDS / 2)]! };
}

const show = (f: Figures) => `${f.perSecond.toFixed(0).padStart(7)}/s (p50 ${(f.p50 * 1000).toFixed(0)} µs, p99 ${(f.p99 * 1000).toFixed(0)} µs)`;

export async function runTokenBench(): Promise<string[]> {
  const tokens = fastapiFullauthTokens({ secretKey: SECRET });
  const key = new TextEncoder().encode(SECRET);
  const userId = randomUUID();
  const claims = () => {
    const iat = Math.floor(Date.now() / 1000);
    return { sub: userId, exp: iat + 1800, iat, jti: randomUUID().replace(/-/g, ''), type: 'access', roles: ['editor'], extra: {} };
  };
  const issueOurs = () => tokens.issueAccessToken({ userId, roles: ['editor'] });
  const issueJose = () => new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(key);
  const sample = (await tokens.issueAccessToken({ userId, roles: ['editor'] })).token;
  const verifyOurs = () => tokens.verifyAccessToken(sample);
  const verifyJose = () => jwtVerify(sample, key, { algorithms: ['HS256'], clockTolerance: 30, requiredClaims: ['exp', 'iat', 'sub'] });

  const lines = [`fastapi-fullauth access tokens (HS256) vs jose called directly, ${OPS} each, median of ${ROUNDS} alternating rounds (goal ≥ 0.90)`];
  for (const [label, ours, library] of [
    ['issue ', issueOurs, issueJose],
    ['verify', verifyOurs, verifyJose],
  ] as const) {
    const r = await compare(ours, library);
    lines.push(`  ${label}  ours ${show(r.ours)}  jose ${show(r.library)}  ratio ${r.ratio.toFixed(2)} (${r.ratio >= 0.9 ? 'met' : 'MISSED'})`);
  }
  return lines;
}
