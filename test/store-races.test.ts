// Revocation against rotation, raced on real PostgreSQL: once a revocation returns, no token
// in its scope is live and no rotation can produce one. Each pair runs RUNS times on one
// pool (Promise.allSettled of the two calls), then the live tokens are counted in the database.
import type { MikroORM } from '@mikro-orm/postgresql';
import { afterEach, describe, expect, it } from 'vitest';
import {
  FullauthStoreError,
  InactiveUserError,
  InvalidRefreshTokenError,
  RefreshTokenReuseError,
  RevokedFamilyError,
  createFullauthStore,
  defineFullauthEntities,
  type FullauthStore,
  type IssuedRefreshToken,
} from '../src/index.js';
import { initOrm } from './support/orm.js';
import { roleRaces } from './support/store-suites.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const RUNS = 200;
const databases: TestDatabase[] = [];
const orms: MikroORM[] = [];
// Each test's ORMs and databases go when it ends: the races open many connections.
afterEach(async () => {
  await Promise.all(orms.splice(0).map((o) => o.close()));
  await Promise.all(databases.splice(0).map((db) => db.drop()));
});

async function setup(include: Parameters<typeof defineFullauthEntities>[0] = [], options: Parameters<typeof defineFullauthEntities>[1] = {}) {
  const db = await createDatabase('races');
  databases.push(db);
  const orm = await initOrm({ kind: 'postgres', url: db.url }, { entities: [...defineFullauthEntities(include, options)], pool: { max: 10 } });
  orms.push(orm);
  await orm.schema.create();
  const store = createFullauthStore(orm.em);
  const live = async (where: string, params: unknown[]) => {
    const rows = await orm.em
      .fork()
      .getConnection()
      .execute<{ n: number }[]>(`select count(*)::int as n from fullauth_refresh_tokens where not revoked and ${where}`, params);
    return rows[0]!.n;
  };
  return { orm, store, live, db };
}

/** Only the errors a serial order could give: a revoked (reused) token, or one of a deactivated or deleted user. */
function expectSerialRefusal(result: PromiseSettledResult<unknown>) {
  if (result.status === 'fulfilled') return;
  expect(result.reason).toBeInstanceOf(FullauthStoreError);
  expect([RefreshTokenReuseError, InactiveUserError, InvalidRefreshTokenError].some((E) => result.reason instanceof E)).toBe(true);
}

/** After the revocation returned: the rotated successor (if any) can never be rotated again. */
async function expectDead(store: FullauthStore, rotated: PromiseSettledResult<IssuedRefreshToken>) {
  if (rotated.status !== 'fulfilled') return 0;
  const again = await Promise.allSettled([store.rotateRefreshToken(rotated.value.token)]);
  expect(again[0]!.status).toBe('rejected');
  return 1;
}

describe.skipIf(skipPostgres)(`revocation against rotation on PostgreSQL (${RUNS} races each)`, () => {
  it('revokeAllForUser ∥ rotateRefreshToken: 0 live tokens, every time', async () => {
    const { store, live } = await setup();
    const user = await store.createUser({ email: 'all@x.io' });
    let survivors = 0;
    let rotatedFirst = 0;
    for (let i = 0; i < RUNS; i++) {
      const { token } = await store.issueRefreshToken(user.id);
      const [rotated, revoked] = await Promise.allSettled([store.rotateRefreshToken(token), store.revokeAllForUser(user.id)]);
      expect(revoked.status).toBe('fulfilled');
      expectSerialRefusal(rotated);
      rotatedFirst += await expectDead(store, rotated);
      survivors += (await live('user_id = ?', [user.id])) > 0 ? 1 : 0;
    }
    expect(survivors).toBe(0);
    // Both serial orders happened: the race was real.
    expect(rotatedFirst).toBeGreaterThan(0);
  });

  it('changePassword ∥ rotateRefreshToken: 0 live tokens, and the attacker cannot rotate afterwards', async () => {
    const { store, live } = await setup();
    const user = await store.createUser({ email: 'pw@x.io', hashedPassword: 'old' });
    let survivors = 0;
    for (let i = 0; i < RUNS; i++) {
      const { token } = await store.issueRefreshToken(user.id);
      const [rotated, changed] = await Promise.allSettled([store.rotateRefreshToken(token), store.changePassword(user.id, `h${i}`)]);
      expect(changed.status).toBe('fulfilled');
      expectSerialRefusal(rotated);
      if (rotated.status === 'fulfilled') {
        // The attacker's fresh token, rotated twice more after changePassword() returned.
        const twice = await Promise.allSettled([store.rotateRefreshToken(rotated.value.token), store.rotateRefreshToken(rotated.value.token)]);
        expect(twice.every((r) => r.status === 'rejected')).toBe(true);
      }
      survivors += (await live('user_id = ?', [user.id])) > 0 ? 1 : 0;
    }
    expect(survivors).toBe(0);
  });

  it('revokeFamily (logout) ∥ rotateRefreshToken: 0 live tokens in the family', async () => {
    const { store, live } = await setup();
    const user = await store.createUser({ email: 'fam@x.io' });
    let survivors = 0;
    for (let i = 0; i < RUNS; i++) {
      const { token, familyId } = await store.issueRefreshToken(user.id);
      const [rotated, revoked] = await Promise.allSettled([store.rotateRefreshToken(token), store.revokeFamily(familyId)]);
      expect(revoked.status).toBe('fulfilled');
      expectSerialRefusal(rotated);
      await expectDead(store, rotated);
      survivors += (await live('family_id = ?', [familyId])) > 0 ? 1 : 0;
    }
    expect(survivors).toBe(0);
  });

  it('revokeFamily ∥ issueRefreshToken into that family: 0 live tokens in the family', async () => {
    const { store, live } = await setup();
    const user = await store.createUser({ email: 'continue@x.io' });
    let survivors = 0;
    for (let i = 0; i < RUNS; i++) {
      const { familyId } = await store.issueRefreshToken(user.id);
      const [issued, revoked] = await Promise.allSettled([store.issueRefreshToken(user.id, { familyId }), store.revokeFamily(familyId)]);
      expect(revoked.status).toBe('fulfilled');
      if (issued.status === 'rejected') expect(issued.reason).toBeInstanceOf(RevokedFamilyError);
      survivors += (await live('family_id = ?', [familyId])) > 0 ? 1 : 0;
    }
    expect(survivors).toBe(0);
  });

  it('revokeSession ∥ rotateRefreshToken: 0 live tokens in the session', async () => {
    const { store, live } = await setup();
    const user = await store.createUser({ email: 'session@x.io' });
    let survivors = 0;
    for (let i = 0; i < RUNS; i++) {
      const { token, familyId } = await store.issueRefreshToken(user.id);
      const [rotated, revoked] = await Promise.allSettled([store.rotateRefreshToken(token), store.revokeSession(user.id, familyId)]);
      expect(revoked).toEqual({ status: 'fulfilled', value: true });
      expectSerialRefusal(rotated);
      await expectDead(store, rotated);
      survivors += (await live('family_id = ?', [familyId])) > 0 ? 1 : 0;
    }
    expect(survivors).toBe(0);
  });

  it('revokeAllExceptFamily ∥ rotation in another family: 0 live tokens outside the kept family', async () => {
    const { store, live } = await setup();
    const user = await store.createUser({ email: 'except@x.io' });
    const kept = await store.issueRefreshToken(user.id);
    let survivors = 0;
    for (let i = 0; i < RUNS; i++) {
      const { token } = await store.issueRefreshToken(user.id);
      const [rotated, revoked] = await Promise.allSettled([store.rotateRefreshToken(token), store.revokeAllExceptFamily(user.id, kept.familyId)]);
      expect(revoked.status).toBe('fulfilled');
      expectSerialRefusal(rotated);
      await expectDead(store, rotated);
      survivors += (await live('user_id = ? and family_id <> ?', [user.id, kept.familyId])) > 0 ? 1 : 0;
    }
    expect(survivors).toBe(0);
    expect(await live('family_id = ?', [kept.familyId])).toBe(1);
  });

  it('a replayed spent token (reuse detection) ∥ rotation of its successor: 0 live tokens in the family', async () => {
    const { store, live } = await setup();
    const user = await store.createUser({ email: 'reuse@x.io' });
    let survivors = 0;
    for (let i = 0; i < RUNS; i++) {
      const first = await store.issueRefreshToken(user.id);
      const second = await store.rotateRefreshToken(first.token);
      const [replayed, rotated] = await Promise.allSettled([store.rotateRefreshToken(first.token), store.rotateRefreshToken(second.token)]);
      expect(replayed.status).toBe('rejected');
      expect((replayed as PromiseRejectedResult).reason).toBeInstanceOf(RefreshTokenReuseError);
      expectSerialRefusal(rotated);
      await expectDead(store, rotated);
      survivors += (await live('family_id = ?', [first.familyId])) > 0 ? 1 : 0;
    }
    expect(survivors).toBe(0);
  });

  it('deactivateUser ∥ rotateRefreshToken: 0 live tokens, and the user cannot refresh or log in afterwards', async () => {
    const { store, live } = await setup();
    const user = await store.createUser({ email: 'off@x.io' });
    let survivors = 0;
    for (let i = 0; i < RUNS; i++) {
      const { token } = await store.issueRefreshToken(user.id);
      const [rotated, deactivated] = await Promise.allSettled([store.rotateRefreshToken(token), store.deactivateUser(user.id)]);
      expect(deactivated.status).toBe('fulfilled');
      expectSerialRefusal(rotated);
      if (rotated.status === 'fulfilled') {
        await expect(store.rotateRefreshToken(rotated.value.token)).rejects.toBeInstanceOf(InactiveUserError);
      }
      await expect(store.issueRefreshToken(user.id)).rejects.toBeInstanceOf(InactiveUserError);
      survivors += (await live('user_id = ?', [user.id])) > 0 ? 1 : 0;
      await store.reactivateUser(user.id);
    }
    expect(survivors).toBe(0);
  });

  it('deactivateUser ∥ issueRefreshToken: never a live token of an inactive user', async () => {
    const { store, live } = await setup();
    const user = await store.createUser({ email: 'issue-off@x.io' });
    let survivors = 0;
    for (let i = 0; i < RUNS; i++) {
      const [issued, deactivated] = await Promise.allSettled([store.issueRefreshToken(user.id), store.deactivateUser(user.id)]);
      expect(deactivated.status).toBe('fulfilled');
      if (issued.status === 'rejected') expect(issued.reason).toBeInstanceOf(InactiveUserError);
      survivors += (await live('user_id = ?', [user.id])) > 0 ? 1 : 0;
      await store.reactivateUser(user.id);
    }
    expect(survivors).toBe(0);
  });

  it('deleteUser ∥ rotateRefreshToken: no token of the user is left', async () => {
    const { store, orm } = await setup();
    let left = 0;
    for (let i = 0; i < RUNS; i++) {
      const user = await store.createUser({ email: `gone${i}@x.io` });
      const { token } = await store.issueRefreshToken(user.id);
      const [rotated, deleted] = await Promise.allSettled([store.rotateRefreshToken(token), store.deleteUser(user.id)]);
      expect(deleted).toEqual({ status: 'fulfilled', value: true });
      expectSerialRefusal(rotated);
      await expectDead(store, rotated);
      const rows = await orm.em.fork().getConnection().execute<{ n: number }[]>('select count(*)::int as n from fullauth_refresh_tokens where user_id = ?', [user.id]);
      left += rows[0]!.n;
    }
    expect(left).toBe(0);
  });

  it('purgeExpiredTokens ∥ revokeAllForUser, deactivateUser, deleteUser at 100,000 tokens: no deadlock, nothing refused', async () => {
    const { store, db } = await setup([], { performanceIndexes: true });
    const others: string[] = [];
    for (let i = 0; i < 50; i++) others.push((await store.createUser({ email: `o${i}@x.io` })).id);
    // 100,000 live tokens of other users: the purge plans a nested loop over the expiry index and the primary key.
    await db.sql(`insert into fullauth_refresh_tokens (id, token, user_id, family_id, expires_at, revoked, created_at)
      select gen_random_uuid(), md5(g::text) || g, (array['${others.join("','")}']::uuid[])[1 + g % 50], 'f' || (g % 997), now() + interval '1 day', false, now()
      from generate_series(1, 100000) g; analyze;`);
    const failures: string[] = [];
    for (let i = 0; i < 60; i++) {
      const victim = (await store.createUser({ email: `v${i}@x.io`, hashedPassword: 'h' })).id;
      // 300 expired, unrevoked tokens of the user (sessions that timed out), in the purge's way.
      await db.sql(`insert into fullauth_refresh_tokens (id, token, user_id, family_id, expires_at, revoked, created_at)
        select gen_random_uuid(), md5(random()::text) || g, '${victim}', 'v' || (g % 5), now() - interval '1 hour', false, now() - interval '2 days'
        from generate_series(1, 300) g`);
      const revoke = [() => store.revokeAllForUser(victim), () => store.deactivateUser(victim), () => store.deleteUser(victim)][i % 3]!;
      const results = await Promise.allSettled([revoke(), store.purgeExpiredTokens({ batchSize: 1000 })]);
      for (const r of results) if (r.status === 'rejected') failures.push(String(r.reason));
    }
    expect(failures).toEqual([]);
  });

  it('50 parallel rotations of one token, 20 times: exactly one winner, and the family revoked', async () => {
    const { store, live } = await setup();
    const user = await store.createUser({ email: 'fifty@x.io' });
    for (let i = 0; i < 20; i++) {
      const { token, familyId } = await store.issueRefreshToken(user.id);
      const results = await Promise.allSettled(Array.from({ length: 50 }, () => store.rotateRefreshToken(token)));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof RefreshTokenReuseError)).toBe(true);
      expect(await live('family_id = ?', [familyId])).toBe(0);
    }
  });
});

describe.skipIf(skipPostgres)('concurrent syncRoles on PostgreSQL (5 ORMs, as 5 application instances)', () => {
  async function instances(n: number) {
    const db = await createDatabase('sync');
    databases.push(db);
    const all: MikroORM[] = [];
    for (let i = 0; i < n; i++) {
      const orm = await initOrm({ kind: 'postgres', url: db.url }, { entities: [...defineFullauthEntities(['permission'])], pool: { max: 2 } });
      orms.push(orm);
      all.push(orm);
    }
    await all[0]!.schema.create();
    const state = async () => {
      const rows = await all[0]!.em.fork().getConnection().execute<{ role: string; perm: string }[]>(
        `select r.name as role, p.name as perm from fullauth_roles r join fullauth_role_permissions rp on rp.role_id = r.id
         join fullauth_permissions p on p.id = rp.permission_id order by 1, 2`,
      );
      const map: Record<string, string[]> = {};
      for (const row of rows) (map[row.role] ??= []).push(row.perm);
      return map;
    };
    return { stores: all.map((orm) => createFullauthStore(orm.em)), state };
  }

  const applied = (state: Record<string, string[]>, map: Record<string, string[]>) =>
    Object.entries(map).every(([role, perms]) => JSON.stringify(state[role] ?? []) === JSON.stringify([...perms].sort()));

  it('the same roles listed in other orders: every sync succeeds, 20 rounds', async () => {
    const { stores, state } = await instances(5);
    const perms = ['a:read', 'a:write', 'b:read', 'b:write', 'c:admin'];
    for (let round = 0; round < 20; round++) {
      const maps = stores.map((_, i) => {
        const roles = ['admin', 'editor', 'viewer', 'owner'].sort(() => Math.random() - 0.5);
        return Object.fromEntries(roles.map((role) => [role, [...perms].sort(() => Math.random() - 0.5).slice(0, 3 + ((i + round) % 3))]));
      });
      const results = await Promise.allSettled(stores.map((store, i) => store.syncRoles(maps[i]!)));
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      const now = await state();
      expect(maps.some((map) => applied(now, map))).toBe(true);
    }
  });

  it('different maps at once (a rolling deploy): every sync succeeds and one map is applied whole, 20 rounds', async () => {
    const { stores, state } = await instances(5);
    for (let round = 0; round < 20; round++) {
      const maps = stores.map((_, i) => ({
        editor: i % 2 ? ['articles:read', 'articles:write'] : ['articles:read'],
        admin: i % 2 ? ['users:manage'] : ['users:manage', 'articles:delete', `round:${round}`],
        [`role${i}`]: [`perm${i}`, 'articles:read'],
      }));
      const results = await Promise.allSettled(stores.map((store, i) => store.syncRoles(maps[i]!)));
      expect(results.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason))).toEqual([]);
      const now = await state();
      expect(maps.some((map) => applied(now, map))).toBe(true);
    }
  });
});

describe.skipIf(skipPostgres)('roles on PostgreSQL', () => roleRaces('postgres', 'on PostgreSQL'));
