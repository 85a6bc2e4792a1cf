// fastapi-fullauth's token format: our JWTs decode in PyJWT with the Python settings and the
// Python side's JWTs verify in ours; the store in that format refreshes sessions a Python
// "service" (fastapi-fullauth's refresh flow with PyJWT and psycopg2) refreshes too, back and
// forth on one PostgreSQL database.
import type { MikroORM } from '@mikro-orm/postgresql';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ExpiredRefreshTokenError,
  FullauthConfigError,
  InactiveUserError,
  InvalidArgumentError,
  InvalidRefreshTokenError,
  InvalidTokenError,
  JWT_ALGORITHMS,
  RefreshTokenReuseError,
  createFullauthStore,
  defineFullauthEntities,
  fastapiFullauthTokens,
  tokenDigest,
  type FullauthJwtAlgorithm,
} from '../src/index.js';
import { initOrm } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';
import { pythonUnavailable, runPython } from './support/python.js';

const SECRET = 'a shared secret of both services';
const settings = (algorithm: FullauthJwtAlgorithm = 'HS256') => ({
  SECRET_KEY: SECRET,
  ALGORITHM: algorithm,
  ACCESS_TOKEN_EXPIRE_MINUTES: 30,
  REFRESH_TOKEN_EXPIRE_DAYS: 30,
  JWT_LEEWAY_SECONDS: 30,
});
const ours = (algorithm: FullauthJwtAlgorithm = 'HS256') => fastapiFullauthTokens({ secretKey: SECRET, algorithm });
const USER = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';

describe('fastapi-fullauth JWTs', () => {
  it('access and refresh tokens carry the Python claims, and each kind is refused as the other', async () => {
    const tokens = ours();
    const access = await tokens.issueAccessToken({ userId: USER, roles: ['editor'], extra: { plan: 'pro' }, familyId: 'f'.repeat(32) });
    const claims = await tokens.verifyAccessToken(access.token);
    expect(claims).toMatchObject({ sub: USER, type: 'access', roles: ['editor'], extra: { plan: 'pro' }, family_id: 'f'.repeat(32) });
    expect(claims.jti).toMatch(/^[0-9a-f]{32}$/);
    expect(claims.exp - claims.iat).toBe(30 * 60);
    const refresh = await tokens.issueRefreshToken({ userId: USER, familyId: 'a'.repeat(32) });
    expect((await tokens.verifyRefreshToken(refresh.token)).exp - refresh.claims.iat).toBe(30 * 24 * 3600);
    await expect(tokens.verifyAccessToken(refresh.token)).rejects.toThrow(/not an access token/);
    await expect(tokens.verifyRefreshToken(access.token)).rejects.toThrow(/not a refresh token/);
  });

  it('refuses a wrong signature, another algorithm, an expired token beyond the leeway and one issued in the future', async () => {
    const tokens = ours();
    const token = (await tokens.issueAccessToken({ userId: USER })).token;
    await expect(fastapiFullauthTokens({ secretKey: 'another secret' }).verifyAccessToken(token)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(ours('HS512').verifyAccessToken(token)).rejects.toBeInstanceOf(InvalidTokenError);
    const tampered = token.replace(/\.([^.]+)\./, (_, body: string) => `.${body.slice(0, -2)}AA.`);
    await expect(tokens.verifyAccessToken(tampered)).rejects.toBeInstanceOf(InvalidTokenError);
    const now = Date.now();
    // 30 minutes of life and 30 s of leeway.
    await expect(tokens.verifyAccessToken(token, { now: new Date(now + 30 * 60_000 + 20_000) })).resolves.toMatchObject({ sub: USER });
    const expired = await tokens.verifyAccessToken(token, { now: new Date(now + 30 * 60_000 + 45_000) }).catch((e: unknown) => e);
    expect(expired).toBeInstanceOf(InvalidTokenError);
    expect((expired as InvalidTokenError).expired).toBe(true);
    const future = (await tokens.issueAccessToken({ userId: USER, now: new Date(now + 120_000) })).token;
    await expect(tokens.verifyAccessToken(future)).rejects.toThrow(/issued in the future/);
    for (const bad of ['', 'a.b.c', 'x'.repeat(10_000)]) await expect(tokens.verifyAccessToken(bad)).rejects.toBeInstanceOf(InvalidTokenError);
    await expect(tokens.verifyAccessToken(42 as unknown as string)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('confines single-purpose tokens (extra.purpose)', async () => {
    const tokens = ours();
    const reset = (await tokens.issueAccessToken({ userId: USER, extra: { purpose: 'password_reset' } })).token;
    await expect(tokens.verifyAccessToken(reset)).rejects.toThrow(/single-purpose/);
    await expect(tokens.verifyAccessToken(reset, { purpose: 'email_verify' })).rejects.toThrow(/not a 'email_verify' token/);
    await expect(tokens.verifyAccessToken(reset, { purpose: 'password_reset' })).resolves.toMatchObject({ extra: { purpose: 'password_reset' } });
    const normal = (await tokens.issueAccessToken({ userId: USER })).token;
    await expect(tokens.verifyAccessToken(normal, { purpose: 'password_reset' })).rejects.toBeInstanceOf(InvalidTokenError);
  });

  it('checks its settings', () => {
    expect(() => fastapiFullauthTokens({ secretKey: '' })).toThrow(/secretKey must be a non-empty string/);
    expect(() => fastapiFullauthTokens({ secretKey: 's', algorithm: 'RS256' as FullauthJwtAlgorithm })).toThrow(/must be one of HS256, HS384, HS512/);
    expect(() => fastapiFullauthTokens({ secretKey: 's', accessTokenExpireMinutes: -1 })).toThrow(/positive number/);
    expect(() => fastapiFullauthTokens({ secretKey: 's', secret: 'x' } as never)).toThrow(/unknown key 'secret'/);
  });
});

const noPython = pythonUnavailable(['jwt']);

describe.skipIf(noPython !== undefined)('the same tokens in PyJWT (the Python side\'s library)', () => {
  it.each(JWT_ALGORITHMS)('%s: ours decode in PyJWT with the Python settings, and PyJWT\'s verify in ours', async (algorithm) => {
    const tokens = ours(algorithm);
    const access = await tokens.issueAccessToken({ userId: USER, roles: ['a', 'b'], extra: { k: 1 }, familyId: 'c'.repeat(32) });
    const decoded = runPython<{ claims: Record<string, unknown> }>('fullauth_tokens.py', { op: 'decode', settings: settings(algorithm), token: access.token, expected_type: 'access' });
    expect(decoded.claims).toEqual(access.claims);
    const refresh = await tokens.issueRefreshToken({ userId: USER, familyId: 'd'.repeat(32) });
    expect(runPython('fullauth_tokens.py', { op: 'decode', settings: settings(algorithm), token: refresh.token, expected_type: 'refresh' })).toEqual({ claims: refresh.claims });
    // A refresh token is no access token on the Python side either.
    expect(runPython('fullauth_tokens.py', { op: 'decode', settings: settings(algorithm), token: refresh.token, expected_type: 'access' })).toMatchObject({ error: 'InvalidTokenError' });

    const theirs = runPython<{ token: string }>('fullauth_tokens.py', { op: 'encode_access', settings: settings(algorithm), sub: USER, roles: ['x'], extra: { purpose: 'password_reset' }, family_id: null });
    await expect(tokens.verifyAccessToken(theirs.token, { purpose: 'password_reset' })).resolves.toMatchObject({ sub: USER, roles: ['x'], type: 'access' });
    await expect(tokens.verifyAccessToken(theirs.token)).rejects.toThrow(/single-purpose/);
    // A session's access token is refused when extra.purpose is true as Python reads it: both sides decide alike.
    const purposes = ['', null, false, 0, [], {}, 'password_reset', 'x', 1, true, ['x'], { k: 1 }];
    const withPurpose = await Promise.all(purposes.map(async (purpose) => (await tokens.issueAccessToken({ userId: USER, extra: { purpose } })).token));
    const python = runPython<{ outcomes: string[] }>('fullauth_tokens.py', { op: 'sessions', settings: settings(algorithm), tokens: withPurpose });
    const here = await Promise.all(
      withPurpose.map((token) =>
        tokens.verifyAccessToken(token).then(
          () => 'accepted',
          (error: unknown) => (error instanceof InvalidTokenError && /single-purpose/.test(error.message) ? 'SinglePurposeError' : String(error)),
        ),
      ),
    );
    expect(here).toEqual(python.outcomes);
    expect(python.outcomes.filter((o) => o === 'accepted')).toHaveLength(6);
    const theirRefresh = runPython<{ token: string }>('fullauth_tokens.py', { op: 'encode_refresh', settings: settings(algorithm), sub: USER, family_id: 'e'.repeat(32) });
    await expect(tokens.verifyRefreshToken(theirRefresh.token)).resolves.toMatchObject({ sub: USER, family_id: 'e'.repeat(32), type: 'refresh' });
    await expect(tokens.verifyAccessToken(theirRefresh.token)).rejects.toThrow(/not an access token/);
  });
});

const noPythonDb = skipPostgres ? 'no PostgreSQL' : pythonUnavailable(['jwt', 'psycopg2']);
const databases: TestDatabase[] = [];
const orms: MikroORM[] = [];
afterEach(async () => {
  await Promise.all(orms.splice(0).map((o) => o.close()));
  await Promise.all(databases.splice(0).map((db) => db.drop()));
});

async function setup() {
  const db = await createDatabase('tokens');
  databases.push(db);
  const orm = await initOrm({ kind: 'postgres', url: db.url }, { entities: [...defineFullauthEntities(['role'])] });
  orms.push(orm);
  await orm.schema.create();
  const store = createFullauthStore(orm.em, { tokens: ours() });
  return { db, orm, store };
}

describe.skipIf(noPythonDb !== undefined)('two services on one PostgreSQL database: ours and a Python one (fastapi-fullauth\'s refresh flow)', () => {
  it('refresh tokens pass back and forth 20 times, each side refreshing what the other issued; a replay is caught by either', async () => {
    const { db, store } = await setup();
    const user = await store.createUser({ email: 'both@x.io' });
    const first = await store.issueRefreshToken(user.id);
    expect(first.familyId).toMatch(/^[0-9a-f]{32}$/); // uuid4().hex, as the Python side makes them
    let token = first.token;
    const spent: string[] = [];
    for (let i = 0; i < 20; i++) {
      spent.push(token);
      const python = runPython<{ token?: string; error?: string }>('fullauth_tokens.py', { op: 'refresh', settings: settings(), dsn: db.url, token });
      expect(python.error).toBeUndefined();
      spent.push(python.token!);
      const next = await store.rotateRefreshToken(python.token!);
      expect(next.familyId).toBe(first.familyId);
      token = next.token;
    }
    const rows = await db.sql(`select count(*)::int as n, count(*) filter (where not revoked)::int as live from fullauth_refresh_tokens where family_id = '${first.familyId}'`);
    expect(rows.rows[0]).toEqual({ n: 41, live: 1 });
    // A spent token replayed on the Python side revokes the family; ours then refuses the live one.
    expect(runPython('fullauth_tokens.py', { op: 'refresh', settings: settings(), dsn: db.url, token: spent[7] })).toMatchObject({ error: 'ReuseError' });
    await expect(store.rotateRefreshToken(token)).rejects.toBeInstanceOf(RefreshTokenReuseError);
    // And the reverse: a Python session, replayed on our side.
    const second = await store.issueRefreshToken(user.id);
    const python = runPython<{ token: string }>('fullauth_tokens.py', { op: 'refresh', settings: settings(), dsn: db.url, token: second.token, times: 3 });
    await expect(store.rotateRefreshToken(second.token)).rejects.toBeInstanceOf(RefreshTokenReuseError);
    expect(runPython('fullauth_tokens.py', { op: 'refresh', settings: settings(), dsn: db.url, token: python.token })).toMatchObject({ error: 'ReuseError' });
  });

  it('a session started on the Python side is refreshed here, there, here… 20 times', async () => {
    const { db, store } = await setup();
    const user = await store.createUser({ email: 'python-first@x.io' });
    const login = runPython<{ token: string; family_id: string }>('fullauth_tokens.py', { op: 'login', settings: settings(), dsn: db.url, sub: user.id });
    let token = login.token;
    for (let i = 0; i < 20; i++) {
      const next = await store.rotateRefreshToken(token);
      expect(next.familyId).toBe(login.family_id);
      const python = runPython<{ token?: string; error?: string }>('fullauth_tokens.py', { op: 'refresh', settings: settings(), dsn: db.url, token: next.token });
      expect(python.error).toBeUndefined();
      token = python.token!;
    }
    expect((await store.listSessions(user.id)).map((s) => s.familyId)).toEqual([login.family_id]);
  });

  it('a token whose JWT does not verify, or names another user or family than its row, rotates nowhere and changes nothing', async () => {
    const { db, store } = await setup();
    const ann = await store.createUser({ email: 'ann@x.io' });
    const bob = await store.createUser({ email: 'bob@x.io' });
    const issued = await store.issueRefreshToken(ann.id);
    const forged = await fastapiFullauthTokens({ secretKey: 'not the secret' }).issueRefreshToken({ userId: ann.id, familyId: issued.familyId });
    await expect(store.rotateRefreshToken(forged.token)).rejects.toBeInstanceOf(InvalidRefreshTokenError);
    // A row planted with the digest of a validly signed token for Bob, in Ann's family.
    const crossed = await ours().issueRefreshToken({ userId: bob.id, familyId: issued.familyId });
    await db.sql(`insert into fullauth_refresh_tokens (id, token, user_id, family_id, expires_at, revoked, created_at)
      values (gen_random_uuid(), '${tokenDigest(crossed.token)}', '${ann.id}', '${issued.familyId}', now() + interval '1 day', false, now())`);
    await expect(store.rotateRefreshToken(crossed.token)).rejects.toBeInstanceOf(InvalidRefreshTokenError);
    const expiredJwt = await ours().issueRefreshToken({ userId: ann.id, familyId: issued.familyId, now: new Date(Date.now() - 40 * 24 * 3600_000) });
    await expect(store.rotateRefreshToken(expiredJwt.token)).rejects.toBeInstanceOf(ExpiredRefreshTokenError);
    const live = await db.sql(`select count(*)::int as n from fullauth_refresh_tokens where not revoked`);
    expect(live.rows[0]!.n).toBe(2); // nothing was spent or revoked
    expect((await store.rotateRefreshToken(issued.token)).familyId).toBe(issued.familyId);
  });

  it('a deactivated user is refused on both sides', async () => {
    const { db, store } = await setup();
    const user = await store.createUser({ email: 'off@x.io' });
    const issued = await store.issueRefreshToken(user.id);
    await db.sql(`update fullauth_users set is_active = false where id = '${user.id}'`); // as the Python admin would
    expect(runPython('fullauth_tokens.py', { op: 'refresh', settings: settings(), dsn: db.url, token: issued.token })).toMatchObject({ error: 'PermissionError' });
    await expect(store.rotateRefreshToken(issued.token)).rejects.toBeInstanceOf(InactiveUserError);
  });

  it('access tokens: ours carry the roles and decode in PyJWT; the Python side\'s authenticate here; refresh tokens and inactive users are refused', async () => {
    const { db, store } = await setup();
    const user = await store.createUser({ email: 'api@x.io' });
    await store.assignRole(user.id, 'editor');
    const session = await store.issueRefreshToken(user.id);
    const access = await store.issueAccessToken(user.id, { familyId: session.familyId });
    const decoded = runPython<{ claims: Record<string, unknown> }>('fullauth_tokens.py', { op: 'decode', settings: settings(), token: access.token, expected_type: 'access' });
    expect(decoded.claims).toMatchObject({ sub: user.id, roles: ['editor'], extra: {}, family_id: session.familyId, type: 'access' });
    const theirs = runPython<{ token: string }>('fullauth_tokens.py', { op: 'encode_access', settings: settings(), sub: user.id, roles: ['editor'], extra: {}, family_id: session.familyId });
    const { user: found, claims } = await store.authenticate(theirs.token);
    expect(found.id).toBe(user.id);
    expect(claims.roles).toEqual(['editor']);
    await expect(store.authenticate(session.token)).rejects.toBeInstanceOf(InvalidTokenError);
    const stranger = runPython<{ token: string }>('fullauth_tokens.py', { op: 'encode_access', settings: settings(), sub: '0190a1b2-c3d4-7e5f-8a9b-000000000000', roles: [], extra: {}, family_id: null });
    await expect(store.authenticate(stranger.token)).rejects.toThrow(/its user does not exist/);
    await db.sql(`update fullauth_users set is_active = false where id = '${user.id}'`);
    await expect(store.authenticate(theirs.token)).rejects.toBeInstanceOf(InactiveUserError);
    await expect(store.issueAccessToken(user.id)).rejects.toBeInstanceOf(InactiveUserError);
  });

  it('single-purpose access tokens as fastapi-fullauth\'s flows issue them: no roles, a password reset valid 15 minutes, an e-mail verification 24 hours', async () => {
    const { store } = await setup();
    const user = await store.createUser({ email: 'reset@x.io' });
    await store.assignRole(user.id, 'editor');
    const decode = (token: string) =>
      runPython<{ claims: { exp: number; iat: number; roles: string[]; extra: Record<string, unknown> } }>('fullauth_tokens.py', { op: 'decode', settings: settings(), token, expected_type: 'access' }).claims;
    const lifetime = async (options: Parameters<typeof store.issueAccessToken>[1]) => {
      const claims = decode((await store.issueAccessToken(user.id, options)).token);
      return { seconds: claims.exp - claims.iat, roles: claims.roles };
    };
    expect(await lifetime({ extra: { purpose: 'password_reset' } })).toEqual({ seconds: 15 * 60, roles: [] });
    expect(await lifetime({ extra: { purpose: 'email_verify' } })).toEqual({ seconds: 24 * 3600, roles: [] });
    expect(await lifetime({ extra: { purpose: 'password_reset' }, expiresIn: 60 })).toEqual({ seconds: 60, roles: [] });
    expect(await lifetime({})).toEqual({ seconds: 30 * 60, roles: ['editor'] });
    expect(await lifetime({ extra: { purpose: '' } })).toEqual({ seconds: 30 * 60, roles: ['editor'] });
    await expect(store.issueAccessToken(user.id, { expiresIn: 0 })).rejects.toThrow(/options.expiresIn must be between 1 and/);
    await expect(store.issueAccessToken(user.id, { extra: 'purpose' as never })).rejects.toThrow(/options.extra must be an object/);
    // extra as the token carries it: what JSON cannot write is refused, typed; NaN is JSON's null, no purpose.
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    for (const extra of [{ n: 1n }, circular]) {
      await expect(store.issueAccessToken(user.id, { extra })).rejects.toThrow(/options.extra must be JSON/);
    }
    expect(await lifetime({ extra: { purpose: Number.NaN } })).toEqual({ seconds: 30 * 60, roles: ['editor'] });
    const custom = fastapiFullauthTokens({ secretKey: SECRET, passwordResetExpireMinutes: 5, emailVerifyExpireMinutes: 60 });
    expect(custom.purposeSeconds).toEqual({ password_reset: 300, email_verify: 3600 });
    expect(() => fastapiFullauthTokens({ secretKey: SECRET, passwordResetExpireMinutes: 0 })).toThrow(/passwordResetExpireMinutes must be a positive number/);
  });

  it('access-token operations need the tokens option', async () => {
    const { orm } = await setup();
    const plain = createFullauthStore(orm.em);
    await expect(plain.issueAccessToken(USER)).rejects.toBeInstanceOf(FullauthConfigError);
    await expect(plain.authenticate('x')).rejects.toThrow(/needs the store's tokens option/);
    expect(() => createFullauthStore(orm.em, { tokens: { secretKey: 'x' } as never })).toThrow(/fastapiFullauthTokens/);
  });
});
