// The store on SQLite (node:sqlite through MikroORM 7 and `fullauthSqlite()`, WAL) against the
// same statements, with the same transactions (BEGIN IMMEDIATE), run through a raw node:sqlite
// connection on the same file, in one run, sequentially (node:sqlite is synchronous: one call
// at a time per connection). Goal: store ≥ 0.9× raw. Besides wall-clock throughput, the CPU
// time of the process per call (`process.cpuUsage()`), which a shared machine disturbs less.
// Standalone: `npm exec -- tsx bench/store-sqlite.ts`; BENCH_SQLITE_DIALECT=node measures
// MikroORM's plain NodeSqliteDialect instead.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM, NodeSqliteDialect, SqliteDriver } from '@mikro-orm/sql';
import { uuidv7 } from 'uuidv7';
import { createFullauthStore, defineFullauthEntities, fullauthSqlite } from '../src/index.js';
import { median, sample, summarise, type Figures, type Sample } from './measure.js';
import { pairs, seedPairFixture, type RawOperations } from './pairs.js';
import { USER_COLUMNS } from '../src/store/rows.js';

/** The user reads' select list: the store's own (`USER_COLUMNS`), so both sides send the same SQL. */
const USER_SELECT = USER_COLUMNS.select;

const OPS = Number(process.env.BENCH_STORE_OPS ?? 2000);
const USERS = 200;
const ROUNDS = Number(process.env.BENCH_STORE_ROUNDS ?? 10);
/** MikroORM's plain NodeSqliteDialect instead of `fullauthSqlite()` (the store's slower path). */
const PLAIN = process.env.BENCH_SQLITE_DIALECT === 'node';
/** The raw side reads rows as arrays (node:sqlite's setReturnArrays) instead of its default row objects. */
const RAW_ARRAYS = process.env.BENCH_SQLITE_RAW_ARRAYS === '1';

const digest = (token: string) => createHash('sha256').update(token).digest('hex');
const newToken = () => randomBytes(32).toString('base64url');
const hex = (id: string) => id.replace(/-/g, '');
const pad = (n: number, l = 2) => String(n).padStart(l, '0');
const micros = (d: Date) =>
  `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}000`;
const figures = (f: Figures) => `${f.perSecond.toFixed(0).padStart(6)}/s (p50 ${f.p50.toFixed(3)} ms, p99 ${f.p99.toFixed(3)} ms)`;

/** CPU time of this process, in microseconds (user + system). */
const cpuMicros = () => {
  const { user, system } = process.cpuUsage();
  return user + system;
};

interface Side {
  figures: Figures;
  /** CPU microseconds per call, over all rounds. */
  cpu: number;
}

/**
 * `store` against `raw` as measure.ts's `compare()` does it (rounds alternating which side goes
 * first, each of at least 250 ms, the ratio the median of the rounds'), plus each round's CPU
 * time: the CPU ratio is the median of the rounds' raw CPU over store CPU.
 */
async function compareWithCpu(
  { ops, rounds, minRoundMs = 250 }: { ops: number; rounds: number; minRoundMs?: number },
  store: (i: number, worker: number) => Promise<unknown>,
  raw: (i: number, worker: number) => Promise<unknown>,
): Promise<{ store: Side; raw: Side; ratio: number; cpuRatio: number }> {
  let n = Math.max(1, Math.round(ops / rounds));
  const pilot = Math.min((await sample(n, 1, store)).wall, (await sample(n, 1, raw)).wall);
  if (pilot < minRoundMs) n = Math.min(n * 50, Math.ceil((n * minRoundMs) / Math.max(pilot, 1)));
  const timed = async (op: (i: number, worker: number) => Promise<unknown>) => {
    const before = cpuMicros();
    const result = await sample(n, 1, op);
    return { sample: result, cpu: cpuMicros() - before };
  };
  const ss: Sample[] = [];
  const rs: Sample[] = [];
  let storeCpu = 0;
  let rawCpu = 0;
  const ratios: number[] = [];
  const cpuRatios: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const first = round % 2 === 0 ? await timed(store) : undefined;
    const y = await timed(raw);
    const x = first ?? (await timed(store));
    ss.push(x.sample);
    rs.push(y.sample);
    storeCpu += x.cpu;
    rawCpu += y.cpu;
    ratios.push(y.sample.wall / x.sample.wall);
    cpuRatios.push(y.cpu / Math.max(x.cpu, 1));
  }
  const calls = n * rounds;
  return {
    store: { figures: summarise(ss), cpu: storeCpu / calls },
    raw: { figures: summarise(rs), cpu: rawCpu / calls },
    ratio: median(ratios),
    cpuRatio: median(cpuRatios),
  };
}

type Db = InstanceType<typeof import('node:sqlite').DatabaseSync>;

/** The raw side: the store's SQLite statements, by hand, on one node:sqlite connection. */
function rawOperations(db: Db): RawOperations {
  const cache = new Map<string, ReturnType<Db['prepare']>>();
  const prepared = (sql: string) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      // BENCH_SQLITE_RAW_ARRAYS=1: rows as arrays, as the store reads them on fullauthSqlite().
      if (RAW_ARRAYS) (statement as unknown as { setReturnArrays(on: boolean): void }).setReturnArrays(true);
      cache.set(sql, statement);
    }
    return statement;
  };
  const inTransaction = <T>(fn: () => T): T => {
    prepared('begin immediate').run();
    try {
      const result = fn();
      prepared('commit').run();
      return result;
    } catch (error) {
      prepared('rollback').run();
      throw error;
    }
  };
  const insertToken = `insert into "fullauth_refresh_tokens" ("id", "token", "user_id", "family_id", "expires_at", "revoked", "user_agent", "ip_address", "created_at")`;
  const issue = async (userId: string) => {
    const token = newToken();
    const familyId = uuidv7();
    const now = new Date();
    const r = prepared(`${insertToken} select ?, ?, "id", ?, ?, false, ?, ?, ? from "fullauth_users" where "id" = ? and "is_active"`).run(
      hex(uuidv7()), digest(token), familyId, micros(new Date(now.getTime() + 86400000)), null, null, micros(now), hex(userId),
    );
    if (Number(r.changes) !== 1) throw new Error('not issued');
    return { token, familyId };
  };
  const rotate = async (token: string) => {
    const old = digest(token);
    const now = new Date();
    const found = prepared(
      `select t."user_id", t."family_id", t."expires_at", t."revoked", u."is_active"
       from "fullauth_refresh_tokens" t join "fullauth_users" u on u."id" = t."user_id" where t."token" = ?`,
    ).all(old)[0];
    const row = found && (RAW_ARRAYS ? { user_id: (found as unknown as unknown[])[0] as string, revoked: (found as unknown as unknown[])[3] as number } : (found as { user_id: string; revoked: number }));
    if (!row || row.revoked) throw new Error('lost');
    const next = newToken();
    inTransaction(() => {
      if (prepared(`select "id" from "fullauth_users" where "id" = ? and "is_active"`).all(row.user_id).length === 0) throw new Error('inactive');
      const spent = prepared(`update "fullauth_refresh_tokens" set "revoked" = true where "token" = ? and "revoked" = false and "expires_at" > ? and "user_id" = ?`).run(
        old, micros(now), row.user_id,
      );
      if (Number(spent.changes) !== 1) throw new Error('lost');
      prepared(`${insertToken} select ?, ?, "user_id", "family_id", ?, false, ?, ?, ? from "fullauth_refresh_tokens" where "token" = ?`).run(
        hex(uuidv7()), digest(next), micros(new Date(now.getTime() + 86400000)), null, null, micros(now), old,
      );
    });
    return next;
  };
  const revokeFamily = async (familyId: string) =>
    inTransaction(() => {
      prepared(`select "is_active" from "fullauth_users" where "id" in (select "user_id" from "fullauth_refresh_tokens" where "family_id" = ?) order by "id"`).all(familyId);
      return prepared(`update "fullauth_refresh_tokens" set "revoked" = true where "family_id" = ? and "revoked" = false`).run(familyId).changes;
    });
  const revokeAll = async (userId: string) =>
    inTransaction(() => {
      prepared(`select "is_active" from "fullauth_users" where "id" = ?`).all(hex(userId));
      return prepared(`update "fullauth_refresh_tokens" set "revoked" = true where "user_id" = ? and "revoked" = false`).run(hex(userId)).changes;
    });
  const lookup = async (email: string) => prepared(`select ${USER_SELECT} from "fullauth_users" where "email" = ?`).all(email);
  const permission = async (userId: string, name: string) =>
    prepared(
      `select exists (select 1 from "fullauth_users" u where u."id" = ? and u."is_active" and (u."is_superuser" or exists (
         select 1 from "fullauth_user_roles" ur
         join "fullauth_role_permissions" rp on rp."role_id" = ur."role_id"
         join "fullauth_permissions" p on p."id" = rp."permission_id"
         where ur."user_id" = u."id" and p."name" = ?))) as "ok"`,
    ).all(hex(userId), name);
  const byId = async (id: string) => prepared(`select ${USER_SELECT} from "fullauth_users" where "id" = ?`).all(hex(id));
  const role = async (userId: string, name: string) =>
    prepared(
      `select exists (select 1 from "fullauth_users" u where u."id" = ? and u."is_active" and (u."is_superuser" or exists (
         select 1 from "fullauth_user_roles" ur join "fullauth_roles" r on r."id" = ur."role_id"
         where ur."user_id" = u."id" and r."name" = ?))) as "ok"`,
    ).all(hex(userId), name);
  const createUser = async (email: string) =>
    prepared(
      `insert into "fullauth_users" ("id", "email", "hashed_password", "is_active", "is_verified", "is_superuser", "created_at")
       values (?, ?, ?, ?, ?, ?, ?) returning *`,
    ).all(hex(uuidv7()), email, 'h', 1, 0, 0, micros(new Date()));
  const sessions = async (userId: string) =>
    prepared(
      `select g."family_id", g."started_at", g."last_used_at", n."expires_at", n."user_agent", n."ip_address"
       from (select "family_id", min("created_at") as "started_at", max("created_at") as "last_used_at"
             from "fullauth_refresh_tokens" where "user_id" = ? and exists (select 1 from "fullauth_users" where "id" = ?) group by "family_id") g
       join "fullauth_refresh_tokens" n on n."id" = (
         select l."id" from "fullauth_refresh_tokens" l
         where l."user_id" = ? and l."family_id" = g."family_id" and not l."revoked" and l."expires_at" > ?
         order by l."created_at" desc, l."id" desc limit 1)
       order by g."last_used_at" desc, g."family_id"`,
    ).all(hex(userId), hex(userId), hex(userId), micros(new Date()));
  const assignRole = async (userId: string, name: string) => {
    // A role held already: one read (as the store does), the write transaction only otherwise.
    const [held] = prepared(
      `select exists (select 1 from "fullauth_user_roles" ur join "fullauth_roles" r on r."id" = ur."role_id" where ur."user_id" = ? and r."name" = ? and exists (select 1 from "fullauth_users" u where u."id" = ur."user_id")) as "ok"`,
    ).all(hex(userId), name);
    if ((RAW_ARRAYS ? (held as unknown as unknown[])[0] : (held as { ok: number }).ok) === 1) return;
    inTransaction(() => {
      prepared(`insert into "fullauth_roles" ("id", "name") values (?, ?) on conflict ("name") do nothing`).run(hex(uuidv7()), name);
      const [found] = prepared(`select "id" from "fullauth_roles" where "name" = ?`).all(name);
      const roleId = RAW_ARRAYS ? (found as unknown as unknown[])[0] : (found as { id: string }).id;
      prepared(`insert into "fullauth_user_roles" ("user_id", "role_id") values (?, ?) on conflict do nothing`).run(hex(userId), roleId as string);
    });
  };
  const link = async (userId: string, providerUserId: string) =>
    prepared(
      `insert into "fullauth_oauth_accounts" ("id", "provider", "provider_user_id", "user_id", "provider_email", "access_token", "refresh_token", "expires_at", "created_at")
       values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict ("provider", "provider_user_id") do nothing
       returning "id", "provider", "provider_user_id", "user_id", "provider_email", "access_token", "refresh_token", "expires_at", "created_at"`,
    ).all(hex(uuidv7()), 'github', providerUserId, hex(userId), null, null, null, null, micros(new Date()));
  const passkeyUse = async (credentialId: string, count: number) => {
    const rows = prepared(
      `update "fullauth_passkeys" set "sign_count" = ?, "last_used_at" = ? where "credential_id" = ? and "sign_count" < ?
       and exists (select 1 from "fullauth_users" u where u."id" = "fullauth_passkeys"."user_id")
       returning "id", "user_id", "credential_id", "public_key", "sign_count", "device_name", "transports", "backed_up", "created_at", "last_used_at"`,
    ).all(count, micros(new Date()), credentialId, count);
    if (rows.length !== 1) throw new Error('passkey count did not grow');
    return rows;
  };
  const changePassword = async (userId: string, hash: string) =>
    inTransaction(() => {
      prepared(`update "fullauth_users" set "hashed_password" = ? where "id" = ?`).run(hash, hex(userId));
      return prepared(`update "fullauth_refresh_tokens" set "revoked" = true where "user_id" = ? and "revoked" = false`).run(hex(userId)).changes;
    });
  return { issue, rotate, revokeFamily, revokeAll, lookup, permission, byId, role, createUser, sessions, assignRole, link, passkeyUse, changePassword };
}

export async function runStoreSqliteBench(): Promise<string[]> {
  if (!(process as { getBuiltinModule?: unknown }).getBuiltinModule) return ['store vs raw node:sqlite: skipped (node:sqlite needs Node 22)'];
  const dir = mkdtempSync(join(tmpdir(), 'fullauth-bench-'));
  const file = join(dir, 'bench.db');
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(file);
  db.exec('pragma journal_mode = wal');
  const orm = await MikroORM.init({
    driver: SqliteDriver,
    dbName: file,
    driverOptions: PLAIN ? new NodeSqliteDialect(file) : fullauthSqlite({ file }),
    entities: [...defineFullauthEntities(undefined, { performanceIndexes: true })],
    debug: false,
  } as never);
  try {
    await orm.schema.create();
    const store = createFullauthStore(orm.em);
    const { users, chains } = await seedPairFixture(store, { users: USERS, clients: 1 });
    db.exec('analyze');
    const raw = rawOperations(db);
    // One set of pairs for the whole run: token chains, counters and sign-up numbers carry on.
    const list = pairs({ store, raw, users, chains, clients: 1 });
    for (const pair of list) {
      await sample(300, 1, pair.store);
      await sample(300, 1, pair.raw);
    }
    const lines = [
      `store (${PLAIN ? 'NodeSqliteDialect' : 'fullauthSqlite()'}) vs raw node:sqlite (a WAL file, sequential, after a warm-up, ${ROUNDS} alternating rounds of at least ${Math.round(OPS / ROUNDS)} calls and 250 ms each, ratio = median of the rounds'; goal ≥ 0.90; CPU: µs of process CPU per call, and its ratio)`,
    ];
    for (const pair of list) {
      const { store: a, raw: b, ratio, cpuRatio } = await compareWithCpu({ ops: OPS, rounds: ROUNDS }, pair.store, pair.raw);
      lines.push(
        `    ${pair.label} store ${figures(a.figures)}  raw ${figures(b.figures)}  ratio ${ratio.toFixed(2)} (${ratio >= 0.9 ? 'met' : 'MISSED'})  CPU ${a.cpu.toFixed(1)} vs ${b.cpu.toFixed(1)} µs ratio ${cpuRatio.toFixed(2)}`,
      );
    }
    return lines;
  } finally {
    await orm.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) for (const line of await runStoreSqliteBench()) console.log(line);
