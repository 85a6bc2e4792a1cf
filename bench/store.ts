// The store against the same statements, with the same locking, sent through the raw `pg`
// driver with bound parameters, in one run on real PostgreSQL: sequentially and with 16
// concurrent clients (each on its own user, as 16 users would be). Goal: store ≥ 0.9× raw.
// Also the cost of the revocation lock itself: rotation with the user's row shared vs the
// same rotation without it (raw both).
import { createHash, randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { uuidv7 } from 'uuidv7';
import { createFullauthStore, defineFullauthEntities, type FullauthStore } from '../src/index.js';

const ADMIN_URL = process.env.FULLAUTH_TEST_PG_URL ?? 'postgresql://root@127.0.0.1:5432/test';
const OPS = Number(process.env.BENCH_STORE_OPS ?? 2000);
const CLIENTS = 16;
const USERS = 200;

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
}

/** `ops` calls of `op(i, worker)` spread over `workers` concurrent loops; latency per call. */
async function measure(ops: number, workers: number, op: (i: number, worker: number) => Promise<unknown>): Promise<Figures> {
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
  const total = performance.now() - start;
  times.sort((a, b) => a - b);
  return { perSecond: (ops / total) * 1000, p50: times[Math.floor(ops * 0.5)]!, p99: times[Math.floor(ops * 0.99)]! };
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');
const newToken = () => randomBytes(32).toString('base64url');
const figures = (f: Figures) => `${f.perSecond.toFixed(0).padStart(6)}/s (p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms)`;

/** The raw side: the store's statements, by hand, on a pg pool. */
function rawOperations(pool: pg.Pool) {
  const inTransaction = async <T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect();
    try {
      await client.query('begin');
      const result = await fn(client);
      await client.query('commit');
      return result;
    } catch (error) {
      await client.query('rollback');
      throw error;
    } finally {
      client.release();
    }
  };
  const issue = async (userId: string) => {
    const token = newToken();
    const familyId = uuidv7();
    const { rows } = await pool.query(
      `with "owner" as (select "id" from "fullauth_users" where "id" = $1 and "is_active" for share)
       insert into "fullauth_refresh_tokens" ("id", "token", "user_id", "family_id", "expires_at", "revoked", "user_agent", "ip_address", "created_at")
       select $2, $3, "owner"."id", $4, $5, false, $6, $7, $8 from "owner"
       where not exists (select 1 from "fullauth_refresh_tokens" t where t."family_id" = $9 and t."user_id" <> "owner"."id")
       returning "id"`,
      [userId, uuidv7(), digest(token), familyId, new Date(Date.now() + 86400000), null, null, new Date(), familyId],
    );
    if (!rows[0]) throw new Error('not issued');
    return { token, familyId };
  };
  const rotate = async (token: string, locked = true) => {
    const old = digest(token);
    const now = new Date();
    const { rows } = await pool.query(
      `select t."user_id", t."family_id", t."expires_at", t."revoked", u."is_active"
       from "fullauth_refresh_tokens" t join "fullauth_users" u on u."id" = t."user_id" where t."token" = $1`,
      [old],
    );
    const row = rows[0] as { user_id: string; revoked: boolean } | undefined;
    if (!row || row.revoked) throw new Error('lost');
    const next = newToken();
    const owner = locked
      ? `with "owner" as (select "id" from "fullauth_users" where "id" = $1 and "is_active" for share),`
      : 'with "owner" as (select $1::uuid as "id"),';
    const won = await pool.query(
      `${owner}
       "spent" as (update "fullauth_refresh_tokens" set "revoked" = true
         where "token" = $2 and "revoked" = false and "expires_at" > $3 and "user_id" = (select "id" from "owner")
         returning "user_id", "family_id")
       insert into "fullauth_refresh_tokens" ("id", "token", "user_id", "family_id", "expires_at", "revoked", "user_agent", "ip_address", "created_at")
       select $4, $5, "user_id", "family_id", $6, false, $7, $8, $9 from "spent" returning "id", "user_id", "family_id"`,
      [row.user_id, old, now, uuidv7(), digest(next), new Date(now.getTime() + 86400000), null, null, now],
    );
    if (won.rowCount !== 1) throw new Error('lost');
    return next;
  };
  const revokeFamily = (familyId: string) =>
    inTransaction(async (client) => {
      await client.query(
        `select "is_active" from "fullauth_users" where "id" in (select "user_id" from "fullauth_refresh_tokens" where "family_id" = $1)
         order by "id" for no key update`,
        [familyId],
      );
      return (await client.query(`update "fullauth_refresh_tokens" set "revoked" = true where "family_id" = $1 and "revoked" = false`, [familyId])).rowCount;
    });
  const revokeAll = (userId: string) =>
    inTransaction(async (client) => {
      await client.query(`select "is_active" from "fullauth_users" where "id" = $1 for no key update`, [userId]);
      return (await client.query(`update "fullauth_refresh_tokens" set "revoked" = true where "user_id" = $1 and "revoked" = false`, [userId])).rowCount;
    });
  const lookup = (email: string) => pool.query(`select * from "fullauth_users" where "email" = $1`, [email]);
  const permission = (userId: string, name: string) =>
    pool.query(
      `select exists (select 1 from "fullauth_users" u where u."id" = $1 and u."is_active" and (u."is_superuser" or exists (
         select 1 from "fullauth_user_roles" ur
         join "fullauth_role_permissions" rp on rp."role_id" = ur."role_id"
         join "fullauth_permissions" p on p."id" = rp."permission_id"
         where ur."user_id" = u."id" and p."name" = $2))) as "ok"`,
      [userId, name],
    );
  return { issue, rotate, revokeFamily, revokeAll, lookup, permission };
}

interface Pair {
  label: string;
  store: (i: number, worker: number) => Promise<unknown>;
  raw: (i: number, worker: number) => Promise<unknown>;
}

function pairs(store: FullauthStore, raw: ReturnType<typeof rawOperations>, users: { id: string }[]): Pair[] {
  // One token chain and one family list per worker: workers never contend on a user, as 16 users would not.
  const storeTokens = new Map<number, string>();
  const rawTokens = new Map<number, string>();
  const userOf = (worker: number, i: number) => users[(worker * 7 + i) % users.length]!;
  return [
    {
      label: 'sign-in lookup    ',
      store: (i) => store.findUserByEmail(`user${i % USERS}@example.com`),
      raw: (i) => raw.lookup(`user${i % USERS}@example.com`),
    },
    {
      label: 'permission check  ',
      store: (i) => store.hasPermission(users[i % USERS]!.id, 'articles:write'),
      raw: (i) => raw.permission(users[i % USERS]!.id, 'articles:write'),
    },
    {
      label: 'issue (login)     ',
      store: (i, w) => store.issueRefreshToken(userOf(w, i).id),
      raw: (i, w) => raw.issue(userOf(w, i).id),
    },
    {
      label: 'refresh rotation  ',
      store: async (_, w) => {
        const token = storeTokens.get(w) ?? (await store.issueRefreshToken(users[w]!.id)).token;
        storeTokens.set(w, (await store.rotateRefreshToken(token)).token);
      },
      raw: async (_, w) => {
        const token = rawTokens.get(w) ?? (await raw.issue(users[USERS - 1 - w]!.id)).token;
        rawTokens.set(w, await raw.rotate(token));
      },
    },
    {
      label: 'logout (family)   ',
      store: async (i, w) => store.revokeFamily((await store.issueRefreshToken(userOf(w, i).id)).familyId),
      raw: async (i, w) => raw.revokeFamily((await raw.issue(userOf(w, i).id)).familyId),
    },
    {
      label: 'revoke all of user',
      store: (i, w) => store.revokeAllForUser(userOf(w, i).id),
      raw: (i, w) => raw.revokeAll(userOf(w, i).id),
    },
  ];
}

export async function runStoreBench(): Promise<string[]> {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (error) {
    return [`store vs raw pg: skipped, PostgreSQL at ${ADMIN_URL} is unreachable (${(error as Error).message})`];
  }
  const name = `fullauth_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const orm = await MikroORM.init({
    clientUrl: url.toString(),
    entities: [...defineFullauthEntities(undefined, { performanceIndexes: true })],
    debug: false,
    pool: { min: 0, max: CLIENTS },
  });
  const pool = new pg.Pool({ connectionString: url.toString(), max: CLIENTS });
  pool.on('error', () => undefined); // the database is dropped with force at the end
  try {
    await orm.schema.create();
    const store = createFullauthStore(orm.em);
    const users: { id: string }[] = [];
    for (let i = 0; i < USERS; i++) users.push(await store.createUser({ email: `user${i}@example.com`, hashedPassword: 'h' }));
    await store.syncRoles({ editor: ['articles:read', 'articles:write'] });
    for (const u of users) await store.assignRole(u.id, 'editor');
    const raw = rawOperations(pool);

    const lines = [`store vs raw pg with bound parameters (PostgreSQL 127.0.0.1, ${OPS} operations each, after a warm-up; goal ≥ 0.90)`];
    await pool.query('analyze');
    // Warm every path up first (JIT, pools, the tables' pages and hint bits), both sides alike.
    for (const pair of pairs(store, raw, users)) {
      await measure(500, CLIENTS, pair.store);
      await measure(500, CLIENTS, pair.raw);
    }
    for (const workers of [1, CLIENTS]) {
      lines.push(workers === 1 ? '  sequential' : `  ${CLIENTS} concurrent clients`);
      for (const pair of pairs(store, raw, users)) {
        await measure(200, workers, pair.store);
        await measure(200, workers, pair.raw);
        // Alternate halves so drift on the machine hits both sides alike.
        const s1 = await measure(OPS / 2, workers, pair.store);
        const r1 = await measure(OPS / 2, workers, pair.raw);
        const r2 = await measure(OPS / 2, workers, pair.raw);
        const s2 = await measure(OPS / 2, workers, pair.store);
        const s = combine(s1, s2);
        const r = combine(r1, r2);
        const ratio = s.perSecond / r.perSecond;
        lines.push(`    ${pair.label} store ${figures(s)}  raw ${figures(r)}  ratio ${ratio.toFixed(2)} (${ratio >= 0.9 ? 'met' : 'MISSED'})`);
      }
    }

    // What the revocation lock costs a rotation (both raw): the user's row taken shared, or not.
    const chain = { locked: (await raw.issue(users[0]!.id)).token, unlocked: (await raw.issue(users[1]!.id)).token };
    const lockedOp = async () => {
      chain.locked = await raw.rotate(chain.locked, true);
    };
    const unlockedOp = async () => {
      chain.unlocked = await raw.rotate(chain.unlocked, false);
    };
    await measure(200, 1, lockedOp);
    await measure(200, 1, unlockedOp);
    const withLock = combine(await measure(OPS / 2, 1, lockedOp), await measure(OPS / 2, 1, lockedOp));
    const withoutLock = combine(await measure(OPS / 2, 1, unlockedOp), await measure(OPS / 2, 1, unlockedOp));
    lines.push(
      `  cost of the revocation lock on a rotation (raw, sequential): with ${figures(withLock)}  without ${figures(withoutLock)}  ` +
        `ratio ${(withLock.perSecond / withoutLock.perSecond).toFixed(2)}`,
    );
    return lines;
  } finally {
    await pool.end();
    await orm.close();
    const cleanup = new pg.Client({ connectionString: ADMIN_URL });
    await cleanup.connect();
    await cleanup.query(`drop database if exists "${name}" with (force)`);
    await cleanup.end();
  }
}

/** Two halves of one measurement: throughput over both, the worse of each percentile. */
function combine(a: Figures, b: Figures): Figures {
  return { perSecond: 2 / (1 / a.perSecond + 1 / b.perSecond), p50: (a.p50 + b.p50) / 2, p99: Math.max(a.p99, b.p99) };
}
