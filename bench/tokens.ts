// fastapi-fullauth tokens: issuing and verifying an access token through
// `fastapiFullauthTokens()` against the same JWT made and checked with jose called directly,
// in the same run. Goal: ≥ 0.9× the library.
import { randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { fastapiFullauthTokens } from '../src/index.js';
import { compare, sample, type Figures } from './measure.js';

const OPS = Number(process.env.BENCH_TOKEN_OPS ?? 20_000);
const ROUNDS = 6;
const SECRET = 'bench secret';

const warm = async (op: () => Promise<unknown>) => sample(2000, 1, op);

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
  const token = (await tokens.issueAccessToken({ userId, roles: ['editor'] })).token;
  const verifyOurs = () => tokens.verifyAccessToken(token);
  const verifyJose = () => jwtVerify(token, key, { algorithms: ['HS256'], clockTolerance: 30, requiredClaims: ['exp', 'iat', 'sub'] });

  const lines = [`fastapi-fullauth access tokens (HS256) vs jose called directly, ${OPS} each, median of ${ROUNDS} alternating rounds (goal ≥ 0.90)`];
  for (const [label, ours, library] of [
    ['issue ', issueOurs, issueJose],
    ['verify', verifyOurs, verifyJose],
  ] as const) {
    await warm(ours);
    await warm(library);
    const r = await compare({ ops: OPS, rounds: ROUNDS, workers: 1 }, ours, library);
    lines.push(`  ${label}  ours ${show(r.a)}  jose ${show(r.b)}  ratio ${r.ratio.toFixed(2)} (${r.ratio >= 0.9 ? 'met' : 'MISSED'})`);
  }
  return lines;
}
