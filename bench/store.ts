// The store against the same statements, with the same locking, sent through the raw `pg`
// driver with bound parameters, in one run on real PostgreSQL: sequentially and with 16
// concurrent clients (each on its own user, as 16 users would be). Goal: store ≥ 0.9× raw.
// Also the cost of the revocation lock itself: rotation with the user's row shared vs the
// same rotation without it (raw both).
// Both sides use the same `pg` pool (MikroORM's own, with its type parsers): measured on separate
// pools, identical raw SQL differed by 3–6% (OAuth link) to 10–33% (lookups) between pools,
// depending on where the machine ran each connection, which swamped the store's own cost.
import { createHash, randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { uuidv7 } from 'uuidv7';
import { createFullauthStore, defineFullauthEntities } from '../src/index.js';
import { compare as compareSides, sample, type Figures } from './measure.js';
import { pairs, seedPairFixture, type RawOperations } from './pairs.js';
import { USER_COLUMNS } from '../src/store/rows.js';

/** The user reads' select list: the store's own (`USER_COLUMNS`), so both sides send the same SQL. */
const USER_SELECT = USER_COLUMNS.select;

const ADMIN_URL = process.env.FULLAUTH_TEST_PG_URL ?? 'postgresql://root@127.0.0.1:5432/test';
const OPS = Number(process.env.BENCH_STORE_OPS ?? 2000);
const CLIENTS = 16;
const USERS = 200;

const ROUNDS = Number(process.env.BENCH_STORE_ROUNDS ?? 10);

const digest = (token: string) => createHash('sha256').update(token).digest('hex');
const newToken = () => randomBytes(32).toString('base64url');
const figures = (f: Figures) => `${f.perSecond.toFixed(0).padStart(6)}/s (p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms)`;

/** The raw side: the store's statements, by hand, on a pg pool. */
export function rawOperations(pool: pg.Pool): RawOperations & { rotate(token: string, locked?: boolean): Promise<string> } {
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
  const lookup = (email: string) => pool.query(`select ${USER_SELECT} from "fullauth_users" where "email" = $1`, [email]);
  const permission = (userId: string, name: string) =>
    pool.query(
      `select exists (select 1 from "fullauth_users" u where u."id" = $1 and u."is_active" and (u."is_superuser" or exists (
         select 1 from "fullauth_user_roles" ur
         join "fullauth_role_permissions" rp on rp."role_id" = ur."role_id"
         join "fullauth_permissions" p on p."id" = rp."permission_id"
         where ur."user_id" = u."id" and p."name" = $2))) as "ok"`,
      [userId, name],
    );
  const byId = (id: string) => pool.query(`select ${USER_SELECT} from "fullauth_users" where "id" = $1`, [id]);
  const createUser = (email: string) =>
    pool.query(
      `insert into "fullauth_users" ("id", "email", "hashed_password", "is_active", "is_verified", "is_superuser", "created_at")
       values ($1, $2, $3, $4, $5, $6, $7) returning *`,
      [uuidv7(), email, 'h', true, false, false, new Date()],
    );
  const role = (userId: string, name: string) =>
    pool.query(
      `select exists (select 1 from "fullauth_users" u where u."id" = $1 and u."is_active" and (u."is_superuser" or exists (
         select 1 from "fullauth_user_roles" ur join "fullauth_roles" r on r."id" = ur."role_id"
         where ur."user_id" = u."id" and r."name" = $2))) as "ok"`,
      [userId, name],
    );
  const sessions = (userId: string) => {
    const now = new Date();
    // The store's statement as it sends it: `now` bound once per use.
    const live = (n: number) => `not "revoked" and "expires_at" > $${n}`;
    return pool.query(
      `select "family_id", min("created_at") as "started_at", max("created_at") as "last_used_at",
              (array_agg("expires_at" order by "created_at" desc) filter (where ${live(1)}))[1] as "expires_at",
              (array_agg("user_agent" order by "created_at" desc) filter (where ${live(2)}))[1] as "user_agent",
              (array_agg("ip_address" order by "created_at" desc) filter (where ${live(3)}))[1] as "ip_address"
       from "fullauth_refresh_tokens"
       where "user_id" = $4 and "family_id" in (select "family_id" from "fullauth_refresh_tokens" where "user_id" = $5 and ${live(6)})
       group by "family_id" order by max("created_at") desc`,
      [now, now, now, userId, userId, now],
    );
  };
  const changePassword = (userId: string, hash: string) =>
    inTransaction(async (client) => {
      await client.query(`update "fullauth_users" set "hashed_password" = $1 where "id" = $2`, [hash, userId]);
      return (await client.query(`update "fullauth_refresh_tokens" set "revoked" = true where "user_id" = $1 and "revoked" = false`, [userId])).rowCount;
    });
  const assignRole = async (userId: string, name: string) => {
    // A role held already: one read (as the store does), the write transaction only otherwise.
    const held = await pool.query(
      `select exists (select 1 from "fullauth_user_roles" ur join "fullauth_roles" r on r."id" = ur."role_id" where ur."user_id" = $1 and r."name" = $2) as "ok"`,
      [userId, name],
    );
    if (held.rows[0].ok === true) return;
    await inTransaction(async (client) => {
      const inserted = await client.query(`insert into "fullauth_roles" ("id", "name") values ($1, $2) on conflict ("name") do nothing returning "id"`, [uuidv7(), name]);
      const roleId = (inserted.rows[0] ?? (await client.query(`select "id" from "fullauth_roles" where "name" = $1`, [name])).rows[0]).id as string;
      await client.query(`insert into "fullauth_user_roles" ("user_id", "role_id") values ($1, $2) on conflict do nothing`, [userId, roleId]);
    });
  };
  const link = (userId: string, providerUserId: string) =>
    pool.query(
      `insert into "fullauth_oauth_accounts" ("id", "provider", "provider_user_id", "user_id", "provider_email", "access_token", "refresh_token", "expires_at", "created_at")
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict ("provider", "provider_user_id") do nothing
       returning "id", "provider", "provider_user_id", "user_id", "provider_email", "access_token", "refresh_token", "expires_at", "created_at"`,
      [uuidv7(), 'github', providerUserId, userId, null, null, null, null, new Date()],
    );
  const passkeyUse = (credentialId: string, count: number) =>
    pool.query(
      `update "fullauth_passkeys" set "sign_count" = $1, "last_used_at" = $2 where "credential_id" = $3 and "sign_count" < $4
       returning "id", "user_id", "credential_id", "public_key", "sign_count", "device_name", "transports", "backed_up", "created_at", "last_used_at"`,
      [count, new Date(), credentialId, count],
    );
  return { issue, rotate, revokeFamily, revokeAll, lookup, permission, byId, createUser, role, sessions, changePassword, assignRole, link, passkeyUse };
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
  try {
    // The raw side on MikroORM's own pool: the same connections as the store's statements.
    const pool = (await orm.em.getConnection().getNativeClient()) as pg.Pool;
    await orm.schema.create();
    const store = createFullauthStore(orm.em);
    const { users, chains } = await seedPairFixture(store, { users: USERS, clients: CLIENTS });
    const raw = rawOperations(pool);

    const lines = [`store vs raw pg with bound parameters on the same pool (PostgreSQL 127.0.0.1, after a warm-up, ${ROUNDS} alternating rounds of at least ${OPS / ROUNDS} calls and 250 ms each, ratio = median of the rounds'; goal ≥ 0.90)`];
    await pool.query('analyze');
    // Warm every path up first (JIT, pools, the tables' pages and hint bits), both sides alike.
    // One set of pairs for the whole run: token chains, counters and sign-up numbers carry on.
    const list = pairs({ store, raw, users, chains, clients: CLIENTS });
    for (const pair of list) {
      await sample(500, CLIENTS, pair.store);
      await sample(500, CLIENTS, pair.raw);
    }
    for (const workers of [1, CLIENTS]) {
      lines.push(workers === 1 ? '  sequential' : `  ${CLIENTS} concurrent clients`);
      for (const pair of list) {
        const { a, b, ratio } = await compareSides({ ops: OPS, rounds: ROUNDS, workers }, pair.store, pair.raw);
        lines.push(`    ${pair.label} store ${figures(a)}  raw ${figures(b)}  ratio ${ratio.toFixed(2)} (${ratio >= 0.9 ? 'met' : 'MISSED'})`);
      }
    }

    // What the revocation lock costs a rotation (both raw): the user's row taken shared, or not.
    const chain = { locked: (await raw.issue(chains[0]!.id)).token, unlocked: (await raw.issue(chains[1]!.id)).token };
    const lockedOp = async () => {
      chain.locked = await raw.rotate(chain.locked, true);
    };
    const unlockedOp = async () => {
      chain.unlocked = await raw.rotate(chain.unlocked, false);
    };
    const lock = await compareSides({ ops: OPS, rounds: ROUNDS, workers: 1 }, lockedOp, unlockedOp);
    lines.push(
      `  cost of the revocation lock on a rotation (raw, sequential): with ${figures(lock.a)}  without ${figures(lock.b)}  ratio ${lock.ratio.toFixed(2)}`,
    );
    return lines;
  } finally {
    await orm.close();
    const cleanup = new pg.Client({ connectionString: ADMIN_URL });
    await cleanup.connect();
    await cleanup.query(`drop database if exists "${name}" with (force)`);
    await cleanup.end();
  }
}

