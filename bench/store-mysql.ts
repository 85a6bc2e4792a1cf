// The store on MariaDB and on MySQL against the same statements, with the same locking and transactions,
// sent through the raw `mysql2` driver (prepared statements, `execute()`), in one run:
// sequentially and with 16 concurrent clients. Goal: store ≥ 0.9× raw.
// Standalone: `npx tsx bench/store-mysql.ts`; also part of `npm run bench`.
import { createHash, randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/mariadb';
import { MikroORM as MySqlORM } from '@mikro-orm/mysql';
import mysql from 'mysql2/promise';
import { uuidv7 } from 'uuidv7';
import { createFullauthStore, defineFullauthEntities } from '../src/index.js';
import { compare as compareSides, sample, type Figures } from './measure.js';
import { pairs, seedPairFixture, type RawOperations } from './pairs.js';
import { USER_COLUMNS } from '../src/store/rows.js';

/** The user reads' select list: the store's own (`USER_COLUMNS`), so both sides send the same SQL. */
const USER_SELECT = USER_COLUMNS.names.map((column) => `\`${column}\``).join(', ');

/** The servers of the MySQL family the bench runs on (as the tests: MariaDB, and MySQL from scripts/mysql-server.sh). */
export const MYSQL_BENCH_SERVERS = [
  { name: 'MariaDB', url: process.env.FULLAUTH_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test', orm: MikroORM },
  { name: 'MySQL', url: process.env.FULLAUTH_TEST_MYSQL_SERVER_URL ?? 'mysql://root@127.0.0.1:3307/test', orm: MySqlORM },
] as const;
type BenchServer = (typeof MYSQL_BENCH_SERVERS)[number];
const OPS = Number(process.env.BENCH_STORE_OPS ?? 2000);
const CLIENTS = 16;
const USERS = 200;
const ROUNDS = Number(process.env.BENCH_STORE_ROUNDS ?? 10);

const digest = (token: string) => createHash('sha256').update(token).digest('hex');
const newToken = () => randomBytes(32).toString('base64url');
const hex = (id: string) => id.replace(/-/g, '');
const pad = (n: number, l = 2) => String(n).padStart(l, '0');
const seconds = (d: Date) =>
  `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}`;
const millis = (d: Date) => `${seconds(d)}.${pad(d.getUTCMilliseconds(), 3)}`;
const figures = (f: Figures) => `${f.perSecond.toFixed(0).padStart(6)}/s (p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms)`;

/** The raw side: the store's MySQL statements, by hand, on a mysql2 pool. */
function rawOperations(pool: mysql.Pool): RawOperations {
  const inTransaction = async <T>(fn: (c: mysql.PoolConnection) => Promise<T>): Promise<T> => {
    const c = await pool.getConnection();
    try {
      await c.query('set transaction isolation level read committed');
      await c.query('start transaction');
      const result = await fn(c);
      await c.query('commit');
      return result;
    } catch (error) {
      await c.query('rollback');
      throw error;
    } finally {
      c.release();
    }
  };
  const insertToken = `insert into \`fullauth_refresh_tokens\` (\`id\`, \`token\`, \`user_id\`, \`family_id\`, \`expires_at\`, \`revoked\`, \`user_agent\`, \`ip_address\`, \`created_at\`)`;
  const issue = async (userId: string) => {
    const token = newToken();
    const familyId = uuidv7();
    const now = new Date();
    const [r] = await pool.execute(
      `${insertToken}
       select ?, ?, \`id\`, ?, ?, false, ?, ?, ? from \`fullauth_users\` where \`id\` = ? and \`is_active\` lock in share mode`,
      [hex(uuidv7()), digest(token), familyId, seconds(new Date(now.getTime() + 86400000)), null, null, seconds(now), hex(userId)],
    );
    if ((r as mysql.ResultSetHeader).affectedRows !== 1) throw new Error('not issued');
    return { token, familyId };
  };
  const rotate = async (token: string) => {
    const old = digest(token);
    const now = new Date();
    const [rows] = await pool.execute(
      `select t.\`user_id\`, t.\`family_id\`, t.\`expires_at\`, t.\`revoked\`, u.\`is_active\`
       from \`fullauth_refresh_tokens\` t join \`fullauth_users\` u on u.\`id\` = t.\`user_id\` where t.\`token\` = ?`,
      [old],
    );
    const row = (rows as { user_id: string; revoked: number }[])[0];
    if (!row || row.revoked) throw new Error('lost');
    const next = newToken();
    await inTransaction(async (c) => {
      const [owner] = await c.execute(`select \`id\` from \`fullauth_users\` where \`id\` = ? and \`is_active\` lock in share mode`, [row.user_id]);
      if ((owner as unknown[]).length === 0) throw new Error('inactive');
      const [spent] = await c.execute(
        `update \`fullauth_refresh_tokens\` set \`revoked\` = true where \`token\` = ? and \`revoked\` = false and \`expires_at\` > ? and \`user_id\` = ?`,
        [old, millis(now), row.user_id],
      );
      if ((spent as mysql.ResultSetHeader).affectedRows !== 1) throw new Error('lost');
      await c.execute(
        `${insertToken} select ?, ?, \`user_id\`, \`family_id\`, ?, false, ?, ?, ? from \`fullauth_refresh_tokens\` where \`token\` = ?`,
        [hex(uuidv7()), digest(next), seconds(new Date(now.getTime() + 86400000)), null, null, seconds(now), old],
      );
    });
    return next;
  };
  const revokeFamily = (familyId: string) =>
    inTransaction(async (c) => {
      await c.execute(
        `select \`is_active\` from \`fullauth_users\` where \`id\` in (select \`user_id\` from \`fullauth_refresh_tokens\` where \`family_id\` = ?) order by \`id\` for update`,
        [familyId],
      );
      const [r] = await c.execute(`update \`fullauth_refresh_tokens\` set \`revoked\` = true where \`family_id\` = ? and \`revoked\` = false`, [familyId]);
      return (r as mysql.ResultSetHeader).affectedRows;
    });
  const revokeAll = (userId: string) =>
    inTransaction(async (c) => {
      await c.execute(`select \`is_active\` from \`fullauth_users\` where \`id\` = ? for update`, [hex(userId)]);
      const [r] = await c.execute(`update \`fullauth_refresh_tokens\` set \`revoked\` = true where \`user_id\` = ? and \`revoked\` = false`, [hex(userId)]);
      return (r as mysql.ResultSetHeader).affectedRows;
    });
  // The store compares identities exactly (the column's collation ignores case and accents): the index, then the bytes.
  const lookup = (email: string) => pool.execute(`select ${USER_SELECT} from \`fullauth_users\` where \`email\` = ? and cast(convert(\`email\` using utf8mb4) as binary) = cast(? as binary)`, [email, email]);
  const permission = (userId: string, name: string) =>
    pool.execute(
      `select exists (select 1 from \`fullauth_users\` u where u.\`id\` = ? and u.\`is_active\` and (u.\`is_superuser\` or exists (
         select 1 from \`fullauth_user_roles\` ur
         join \`fullauth_role_permissions\` rp on rp.\`role_id\` = ur.\`role_id\`
         join \`fullauth_permissions\` p on p.\`id\` = rp.\`permission_id\`
         where ur.\`user_id\` = u.\`id\` and p.\`name\` = ? and cast(convert(p.\`name\` using utf8mb4) as binary) = cast(? as binary)))) as \`ok\``,
      [hex(userId), name, name],
    );
  const byId = (id: string) => pool.execute(`select ${USER_SELECT} from \`fullauth_users\` where \`id\` = ?`, [hex(id)]);
  const role = (userId: string, name: string) =>
    pool.execute(
      `select exists (select 1 from \`fullauth_users\` u where u.\`id\` = ? and u.\`is_active\` and (u.\`is_superuser\` or exists (
         select 1 from \`fullauth_user_roles\` ur join \`fullauth_roles\` r on r.\`id\` = ur.\`role_id\`
         where ur.\`user_id\` = u.\`id\` and r.\`name\` = ? and cast(convert(r.\`name\` using utf8mb4) as binary) = cast(? as binary)))) as \`ok\``,
      [hex(userId), name, name],
    );
  // No RETURNING on MySQL: the row is read back by its id, as the store does.
  const createUser = async (email: string) => {
    const id = hex(uuidv7());
    await pool.execute(
      `insert into \`fullauth_users\` (\`id\`, \`email\`, \`hashed_password\`, \`is_active\`, \`is_verified\`, \`is_superuser\`, \`created_at\`)
       values (?, ?, ?, ?, ?, ?, ?)`,
      [id, email, 'h', true, false, false, seconds(new Date())],
    );
    return pool.execute(`select * from \`fullauth_users\` where \`id\` = ?`, [id]);
  };
  const sessions = (userId: string) =>
    pool.execute(
      `select g.\`family_id\`, g.\`started_at\`, g.\`last_used_at\`, n.\`expires_at\`, n.\`user_agent\`, n.\`ip_address\`
       from (select \`family_id\`, min(\`created_at\`) as \`started_at\`, max(\`created_at\`) as \`last_used_at\`
             from \`fullauth_refresh_tokens\` where \`user_id\` = ? and exists (select 1 from \`fullauth_users\` where \`id\` = ?) group by \`family_id\`) g
       join \`fullauth_refresh_tokens\` n on n.\`id\` = (
         select l.\`id\` from \`fullauth_refresh_tokens\` l
         where l.\`user_id\` = ? and l.\`family_id\` = g.\`family_id\` and not l.\`revoked\` and l.\`expires_at\` > ?
         order by l.\`created_at\` desc, l.\`id\` desc limit 1)
       order by g.\`last_used_at\` desc, g.\`family_id\``,
      [hex(userId), hex(userId), hex(userId), millis(new Date())],
    );
  /** An INSERT whose duplicate key is not an error (it leaves the transaction usable). */
  const insertIfAbsent = async (c: mysql.PoolConnection, sql: string, values: unknown[]) => {
    try {
      await c.execute(sql, values as never);
      return true;
    } catch (error) {
      if ((error as { code?: string }).code === 'ER_DUP_ENTRY') return false;
      throw error;
    }
  };
  /** The store's order: the row in the way looked for (locked shared) first, then the insert. */
  const found = async (c: mysql.PoolConnection, sql: string, values: unknown[]) => {
    const [rows] = await c.execute(sql, values as never);
    return (rows as { id?: string }[])[0];
  };
  const assignRole = async (userId: string, name: string) => {
    // A role held already: one read (as the store does), the write transaction only otherwise.
    const [held] = await pool.execute(
      `select exists (select 1 from \`fullauth_user_roles\` ur join \`fullauth_roles\` r on r.\`id\` = ur.\`role_id\` where ur.\`user_id\` = ? and r.\`name\` = ? and cast(convert(r.\`name\` using utf8mb4) as binary) = cast(? as binary)) as \`ok\``,
      [hex(userId), name, name],
    );
    if (Number((held as { ok: unknown }[])[0]!.ok) === 1) return;
    await inTransaction(async (c) => {
      const roleByName = `select \`id\` from \`fullauth_roles\` where \`name\` = ? lock in share mode`;
      let roleId = (await found(c, roleByName, [name]))?.id;
      if (roleId === undefined) {
        roleId = hex(uuidv7());
        if (!(await insertIfAbsent(c, `insert into \`fullauth_roles\` (\`id\`, \`name\`) values (?, ?)`, [roleId, name]))) roleId = (await found(c, roleByName, [name]))!.id!;
      }
      const key = [hex(userId), roleId];
      if (!(await found(c, `select 1 as \`held\` from \`fullauth_user_roles\` where \`user_id\` = ? and \`role_id\` = ? lock in share mode`, key))) {
        await insertIfAbsent(c, `insert into \`fullauth_user_roles\` (\`user_id\`, \`role_id\`) values (?, ?)`, key);
      }
    });
  };
  const link = async (userId: string, providerUserId: string) => {
    const id = hex(uuidv7());
    await pool.execute(
      `insert into \`fullauth_oauth_accounts\` (\`id\`, \`provider\`, \`provider_user_id\`, \`user_id\`, \`provider_email\`, \`access_token\`, \`refresh_token\`, \`expires_at\`, \`created_at\`)
       values (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [id, 'github', providerUserId, hex(userId), null, null, null, null, seconds(new Date())],
    );
    return pool.execute(`select * from \`fullauth_oauth_accounts\` where \`id\` = ?`, [id]);
  };
  const passkeyUse = async (credentialId: string, count: number) => {
    const [r] = await pool.execute(
      `update \`fullauth_passkeys\` set \`sign_count\` = ?, \`last_used_at\` = ? where \`credential_id\` = ? and cast(convert(\`credential_id\` using utf8mb4) as binary) = cast(? as binary) and \`sign_count\` < ?`,
      [count, seconds(new Date()), credentialId, credentialId, count],
    );
    if ((r as mysql.ResultSetHeader).affectedRows !== 1) throw new Error('passkey count did not grow');
    return pool.execute(`select * from \`fullauth_passkeys\` where \`credential_id\` = ? and cast(convert(\`credential_id\` using utf8mb4) as binary) = cast(? as binary)`, [credentialId, credentialId]);
  };
  const changePassword = (userId: string, hash: string) =>
    inTransaction(async (c) => {
      await c.execute(`update \`fullauth_users\` set \`hashed_password\` = ? where \`id\` = ?`, [hash, hex(userId)]);
      const [r] = await c.execute(`update \`fullauth_refresh_tokens\` set \`revoked\` = true where \`user_id\` = ? and \`revoked\` = false`, [hex(userId)]);
      return (r as mysql.ResultSetHeader).affectedRows;
    });
  return { issue, rotate, revokeFamily, revokeAll, lookup, permission, byId, role, createUser, sessions, assignRole, link, passkeyUse, changePassword };
}

export async function runStoreMysqlBench(server: BenchServer = MYSQL_BENCH_SERVERS[0]): Promise<string[]> {
  const ADMIN_URL = server.url;
  let admin: mysql.Connection;
  try {
    admin = await mysql.createConnection({ uri: ADMIN_URL, connectTimeout: 3000 });
  } catch (error) {
    return [`store vs raw mysql2: skipped, ${server.name} at ${ADMIN_URL} is unreachable (${(error as Error).message})`];
  }
  const name = `fullauth_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`create database \`${name}\``);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const orm = await server.orm.init({
    clientUrl: url.toString(),
    entities: [...defineFullauthEntities(undefined, { performanceIndexes: true })],
    debug: false,
    pool: { min: 0, max: CLIENTS },
  });
  const pool = mysql.createPool({ uri: url.toString(), connectionLimit: CLIENTS, dateStrings: true, supportBigNumbers: true });
  try {
    await orm.schema.create();
    const store = createFullauthStore(orm.em);
    const { users, chains } = await seedPairFixture(store, { users: USERS, clients: CLIENTS });
    const raw = rawOperations(pool);
    // One set of pairs for the whole run: token chains, counters and sign-up numbers carry on.
    const list = pairs({ store, raw, users, chains, clients: CLIENTS });
    for (const pair of list) {
      await sample(300, CLIENTS, pair.store);
      await sample(300, CLIENTS, pair.raw);
    }
    const lines = [`store vs raw mysql2 with prepared statements (${server.name} ${String(((await admin.query('select version() as v'))[0] as { v: string }[])[0]!.v).replace(/-.*/, '')} on 127.0.0.1, after a warm-up, ${ROUNDS} alternating rounds of at least ${OPS / ROUNDS} calls and 250 ms each, ratio = median of the rounds'; goal ≥ 0.90)`];
    for (const workers of [1, CLIENTS]) {
      lines.push(workers === 1 ? '  sequential' : `  ${CLIENTS} concurrent clients`);
      for (const pair of list) {
        const { a, b, ratio } = await compareSides({ ops: OPS, rounds: ROUNDS, workers }, pair.store, pair.raw);
        lines.push(`    ${pair.label} store ${figures(a)}  raw ${figures(b)}  ratio ${ratio.toFixed(2)} (${ratio >= 0.9 ? 'met' : 'MISSED'})`);
      }
    }
    return lines;
  } finally {
    await pool.end();
    await orm.close();
    await admin.query(`drop database if exists \`${name}\``);
    await admin.end();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const server of MYSQL_BENCH_SERVERS) for (const line of await runStoreMysqlBench(server)) console.log(line);
}
