// The auth store on SQLite (WAL; node:sqlite on MikroORM 7, libSQL on MikroORM 6): the
// behaviour of test/store.test.ts, the races of test/store-races.test.ts across four
// connections (four ORMs on one file) and across processes, the orphan rows fastapi-fullauth's
// SQLite leaves behind, and the microsecond timestamps it writes.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  InvalidRefreshTokenError,
  NotFoundError,
  RefreshTokenReuseError,
  RetryableStoreError,
  checkFullauthSchema,
  createFullauthStore,
  type IssuedRefreshToken,
} from '../src/index.js';
import { fullauthSqliteStatement } from '../src/sqlite/dialect.js';
import { CLI_ENV, MIKRO_ORM_6 } from './support/compat.js';
import { SQLITE_NAME, openSqlite, removeDirs, scratchDir } from './support/databases.js';
import { checkedMikroOrm6Example } from './support/mikro-orm-6-example.js';
import { runCommand } from './support/spawn.js';
import { functionalSuite, raceSuite } from './support/store-suites.js';
import { cleanUp, hex, storeTarget } from './support/store-targets.js';

describe(`the store on ${SQLITE_NAME}${MIKRO_ORM_6 ? '' : ' through fullauthSqlite()'}`, () => functionalSuite('sqlite'));
// The store's statements through Kysely, as on any SQLite dialect that is not fullauthSqlite() (MikroORM 7 only: on 6 both are libSQL).
describe.skipIf(MIKRO_ORM_6)(`the store on SQLite (node:sqlite) through MikroORM's NodeSqliteDialect${MIKRO_ORM_6 ? ' (skipped on MikroORM 6: NodeSqliteDialect is MikroORM 7\'s; SQLite there is libSQL, run above)' : ''}`, () =>
  functionalSuite('sqlite-plain'),
);
describe(`the store on ${SQLITE_NAME}${MIKRO_ORM_6 ? '' : ' through fullauthSqlite()'}, raced across 4 connections`, () => raceSuite('sqlite', 'on SQLite (4 connections on one file)'));

const ROOT = new URL('..', import.meta.url).pathname;

/** Starts the processes, waits until each has connected, then releases them together. */
async function processes(file: string, jobs: { mode: string; input: object }[]) {
  // A test may start several batches on one file: each waits for its own start signal.
  for (const signal of [`${file}.go`, ...jobs.map((_, i) => `${file}.ready.${i}`)]) rmSync(signal, { force: true });
  const running = jobs.map((job, i) =>
    runCommand(process.execPath, ['--disable-warning=ExperimentalWarning', '--import', 'tsx', join(ROOT, 'test/store-sqlite-child.ts'), file, job.mode, String(i), JSON.stringify(job.input)], {
      cwd: ROOT,
      timeout: 300_000,
    }),
  );
  for (const start = Date.now(); !jobs.every((_, i) => existsSync(`${file}.ready.${i}`)); ) {
    if (Date.now() - start > 240_000) throw new Error('the child processes did not start');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  writeFileSync(`${file}.go`, '');
  const results = (await Promise.all(running)).map((r) => {
    if (r.status !== 0) throw new Error(`child process failed:\n${r.output}`);
    return JSON.parse(r.stdout) as { rotated: IssuedRefreshToken[]; revoked: number; assigned: number; errors: Record<string, number>; slowest: number };
  });
  console.log(`${jobs.map((j) => j.mode).join(', ')}: slowest call of each process ${results.map((r) => r.slowest).join(' / ')} ms`);
  return results;
}

describe(`the store on ${SQLITE_NAME} across processes`, () => {
  afterEach(cleanUp);

  it('50 parallel rotations of one token from 5 processes: exactly one winner, and the family revoked', async () => {
    const { store, file, live } = await storeTarget('sqlite', [], { orms: 1 });
    const user = await store.createUser({ email: 'procs@x.io' });
    const { token, familyId } = await store.issueRefreshToken(user.id);
    const results = await processes(file!, Array.from({ length: 5 }, () => ({ mode: 'rotate-one', input: { token, count: 10 } })));
    expect(results.flatMap((r) => r.rotated)).toHaveLength(1);
    const errors = results.flatMap((r) => Object.entries(r.errors));
    expect(errors.every(([name]) => name === 'RefreshTokenReuseError')).toBe(true);
    expect(errors.reduce((n, [, count]) => n + count, 0)).toBe(49);
    expect(await live('family_id = ?', [familyId])).toBe(0);
  });

  it('revokeAllForUser in one process ∥ rotations in another, 200 users: 0 live tokens, no successor rotates', async () => {
    const { store, file, live } = await storeTarget('sqlite', [], { orms: 1 });
    const users: string[] = [];
    const tokens: string[] = [];
    for (let i = 0; i < 200; i++) {
      const user = await store.createUser({ email: `p${i}@x.io` });
      users.push(user.id);
      tokens.push((await store.issueRefreshToken(user.id)).token);
    }
    const [rotating, revoking] = await processes(file!, [
      { mode: 'rotate', input: { tokens } },
      { mode: 'revoke', input: { users } },
    ]);
    expect(revoking!.revoked).toBe(200);
    expect(Object.keys(rotating!.errors).every((name) => name === 'RefreshTokenReuseError')).toBe(true);
    expect(rotating!.rotated.length + Object.values(rotating!.errors).reduce((n, c) => n + c, 0)).toBe(200);
    expect(await live('1 = 1', [])).toBe(0);
    for (const successor of rotating!.rotated) await expect(store.rotateRefreshToken(successor.token)).rejects.toThrow(RefreshTokenReuseError);
  });
  it('assignRole of 20 new roles to 5 users from 4 processes at once: no error, one role per name, one row per user and role', async () => {
    const { store, file, sql } = await storeTarget('sqlite', ['role'], { orms: 1 });
    const users: string[] = [];
    for (let i = 0; i < 5; i++) users.push((await store.createUser({ email: `r${i}@x.io` })).id);
    const roles = Array.from({ length: 20 }, (_, i) => `r${i}`);
    const results = await processes(file!, Array.from({ length: 4 }, () => ({ mode: 'assign', input: { users, roles } })));
    expect(results.map((r) => r.errors)).toEqual([{}, {}, {}, {}]);
    expect(results.map((r) => r.assigned)).toEqual([100, 100, 100, 100]);
    const made = await sql('select count(*) as n, count(distinct "name") as names from fullauth_roles');
    expect([Number(made[0]!.n), Number(made[0]!.names)]).toEqual([20, 20]);
    expect(Number((await sql('select count(*) as n from fullauth_user_roles'))[0]!.n)).toBe(100);
    for (const user of users) expect(await store.listRoles(user)).toHaveLength(20);
  });
});

describe.skipIf(MIKRO_ORM_6)(`the store on the ORM's one fullauthSqlite() connection, held by another EntityManager${MIKRO_ORM_6 ? ' (skipped on MikroORM 6: fullauthSqlite() is MikroORM 7\'s; SQLite there is libSQL)' : ''}`, () => {
  afterEach(cleanUp);

  it('a store call that waits for the connection a transaction holds gives up after busyTimeout (at least 5 s), naming why, instead of never ending', async () => {
    const { orm } = await storeTarget('sqlite', [], { orms: 1 });
    // A store on another EntityManager than the transaction's: it does not join it.
    const store = createFullauthStore(orm.em.fork(), { busyTimeout: 300 });
    const user = await store.createUser({ email: 'held@x.io' });
    const started = Date.now();
    const inside = await orm.em.fork().transactional(async (em) => {
      await em.getConnection().execute('select 1', [], 'all', em.getTransactionContext()); // the connection is the transaction's now
      return store.findUserByEmail('held@x.io').then(
        () => 'found',
        (error: unknown) => error,
      );
    });
    expect(inside).toBeInstanceOf(RetryableStoreError);
    expect(String(inside)).toMatch(/waited 5000 ms \(busyTimeout, at least 5 s\) for this ORM's one connection .* make the call on the EntityManager of that transaction/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
    // The transaction ended; the connection serves everyone again.
    expect((await store.findUserByEmail('held@x.io'))?.id).toBe(user.id);
  });
});

describe.skipIf(MIKRO_ORM_6)(`fullauthSqlite() connections: the store's transactions on several ORMs, and what MikroORM's own calls get${MIKRO_ORM_6 ? ' (skipped on MikroORM 6: fullauthSqlite() is MikroORM 7\'s; SQLite there is libSQL)' : ''}`, () => {
  afterEach(cleanUp);

  it('stores of two ORMs on two files, called in turn, each write to their own file; a closed and reconnected ORM gets a new connection', async () => {
    // A transaction finds its connection through a one-entry cache (the last ORM's): it must follow the ORM.
    const a = await storeTarget('sqlite', ['role'], { orms: 1 });
    const b = await storeTarget('sqlite', ['role'], { orms: 1 });
    const ann = await a.store.createUser({ email: 'ann@a.io' });
    const bob = await b.store.createUser({ email: 'bob@b.io' });
    for (let i = 0; i < 20; i++) {
      await a.store.assignRole(ann.id, `a${i}`);
      await b.store.assignRole(bob.id, `b${i}`);
    }
    expect((await a.sql('select name from fullauth_roles order by name')).map((r) => r.name)).toEqual(Array.from({ length: 20 }, (_, i) => `a${i}`).sort());
    expect((await b.sql('select name from fullauth_roles order by name')).map((r) => r.name)).toEqual(Array.from({ length: 20 }, (_, i) => `b${i}`).sort());
    await expect(a.store.assignRole(bob.id, 'x')).rejects.toThrow(/FOREIGN KEY/i); // bob is b's, not a's
    await a.orm.close();
    await a.orm.connect();
    await a.store.assignRole(ann.id, 'after reconnect');
    expect(await a.store.listRoles(ann.id)).toContain('after reconnect');
    expect(await b.store.listRoles(bob.id)).toHaveLength(20);
  });

  it("a write's rows that MikroORM's execute() hands on are the caller's own array, not one shared by every write", async () => {
    const { orm } = await storeTarget('sqlite', ['role'], { orms: 1 });
    const connection = orm.em.getConnection();
    const first = await connection.execute<unknown[]>("insert into fullauth_roles (id, name) values ('00000000000070008000000000000001', 'r1')");
    const second = await connection.execute<unknown[]>("insert into fullauth_roles (id, name) values ('00000000000070008000000000000002', 'r2')");
    expect(first).not.toBe(second);
    expect(Object.isFrozen(first)).toBe(false);
    (first as unknown[]).push('mine');
    expect(second).toEqual([]);
  });

  it("binds every value in its place, for the store's reads and writes of 0 to 12 values (no spread call up to eight, a spread beyond)", async () => {
    const { orm } = await storeTarget('sqlite', ['role'], { orms: 1 });
    const connection = orm.em.getConnection();
    // The store's own path to node:sqlite (MikroORM's execute() inlines its values into the SQL).
    const statement = (sql: string, values: readonly unknown[]) => fullauthSqliteStatement(connection, undefined, sql, values);
    await statement(`create table bound (${Array.from({ length: 12 }, (_, i) => `c${i}`).join(', ')}, n integer)`, []);
    for (let n = 0; n <= 12; n++) {
      const values = Array.from({ length: n }, (_, i) => `v${n}.${i}`);
      const read = await statement(n === 0 ? 'select 1 as one' : `select ${values.map((_, i) => `? as c${i}`).join(', ')}`, values);
      expect(read?.rows).toEqual([n === 0 ? { one: 1 } : Object.fromEntries(values.map((v, i) => [`c${i}`, v]))]);
      const columns = [...values.map((_, i) => `c${i}`), 'n'];
      // The row's number is in the SQL, so that a write of 0 values still writes.
      const written = await statement(`insert into bound (${columns.join(', ')}) values (${[...values.map(() => '?'), String(n)].join(', ')})`, values);
      expect(written?.affected).toBe(1);
      const row = (await statement('select * from bound where n = ?', [n]))?.rows[0];
      expect(Object.fromEntries(values.map((_, i) => [`c${i}`, row?.[`c${i}`]]))).toEqual(Object.fromEntries(values.map((v, i) => [`c${i}`, v])));
    }
  });
});

describe(`the store on ${SQLITE_NAME} beside fastapi-fullauth`, () => {
  afterEach(cleanUp);

  it('treats orphan rows (their user deleted with foreign keys off) as absent', async () => {
    const { store, sql, file } = await storeTarget('sqlite', ['role', 'oauth', 'passkey'], { orms: 1 });
    const gone = await store.createUser({ email: 'gone@x.io', hashedPassword: 'h' });
    const { token } = await store.issueRefreshToken(gone.id);
    await store.assignRole(gone.id, 'admin');
    await store.linkOAuthAccount({ userId: gone.id, provider: 'github', providerUserId: '42' });
    await store.registerPasskey({ userId: gone.id, credentialId: 'cred', publicKey: 'pk' });
    // As fastapi-fullauth's SQLite connections delete a user: foreign keys off, nothing cascades.
    const python = await openSqlite(file!, { foreignKeys: false, timeout: 5000 });
    python.run('delete from fullauth_users where id = ?', [hex(gone.id)]);
    python.close();
    expect(Number((await sql('select count(*) as n from fullauth_refresh_tokens'))[0]!.n)).toBe(1);

    await expect(store.rotateRefreshToken(token)).rejects.toThrow(InvalidRefreshTokenError);
    expect(await store.findOAuthAccount('github', '42')).toBeNull();
    expect(await store.findPasskey('cred')).toBeNull();
    await expect(store.recordPasskeyUse('cred', 5)).rejects.toThrow(/No passkey/);
    expect(await store.listSessions(gone.id)).toEqual([]);
    // Its role links are left behind too: a token of the deleted user's that is still valid gets no roles.
    expect(Number((await sql('select count(*) as n from fullauth_user_roles'))[0]!.n)).toBe(1);
    expect(await store.listRoles(gone.id)).toEqual([]);
    expect(await store.hasRole(gone.id, 'admin')).toBe(false);
    // Nor does the orphan link make assigning that role to the deleted user a success (a held role is answered by a read).
    await expect(store.assignRole(gone.id, 'admin')).rejects.toThrow(NotFoundError);

    // The orphan is no obstacle: the provider account and the credential can be taken again.
    const ann = await store.createUser({ email: 'ann@x.io' });
    const linked = await store.linkOAuthAccount({ userId: ann.id, provider: 'github', providerUserId: '42' });
    expect(linked).toMatchObject({ created: true, account: { userId: ann.id } });
    expect((await store.registerPasskey({ userId: ann.id, credentialId: 'cred', publicKey: 'pk2' })).userId).toBe(ann.id);
    expect(Number((await sql('select count(*) as n from fullauth_oauth_accounts'))[0]!.n)).toBe(1);
  });

  it('waits for another process\'s write lock without blocking the event loop, up to busyTimeout', async () => {
    const { orm, store, file } = await storeTarget('sqlite', ['role'], { orms: 1 });
    const user = await store.createUser({ email: 'wait@x.io' });
    await store.issueRefreshToken(user.id);
    await store.assignRole(user.id, 'reader');
    const other = await openSqlite(file!);
    other.exec('begin immediate'); // as a Python service holding the write lock
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    try {
      const impatient = createFullauthStore(orm.em, { busyTimeout: 300 });
      const started = Date.now();
      await expect(impatient.revokeAllForUser(user.id)).rejects.toBeInstanceOf(RetryableStoreError);
      // The store's busyTimeout, not the connection's (fullauthSqlite()'s, 5 s by default).
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      expect(Date.now() - started).toBeLessThan(2500);
      expect(ticks).toBeGreaterThan(5); // the event loop ran while the store waited
      // assignRole's transaction, which runs at once when nothing waits, waits the same way.
      const assigning = Date.now();
      await expect(impatient.assignRole(user.id, 'waiting')).rejects.toBeInstanceOf(RetryableStoreError);
      expect(Date.now() - assigning).toBeGreaterThanOrEqual(250);
      expect(Date.now() - assigning).toBeLessThan(2500);
      // A role the user holds already is one read: no write lock to wait for (WAL: reads run beside the writer).
      const holding = Date.now();
      await impatient.assignRole(user.id, 'reader');
      expect(Date.now() - holding).toBeLessThan(250);
      // A statement on its own (no transaction) too.
      const updating = Date.now();
      await expect(impatient.reactivateUser(user.id)).rejects.toBeInstanceOf(RetryableStoreError);
      expect(Date.now() - updating).toBeGreaterThanOrEqual(250);
      expect(Date.now() - updating).toBeLessThan(2500);
      // A write that waits (default 5 s) succeeds once the lock is released.
      const waiting = store.revokeAllForUser(user.id);
      const assigned = store.assignRole(user.id, 'waiting');
      setTimeout(() => other.exec('commit'), 200);
      expect(await waiting).toBe(1);
      await assigned;
      expect(await store.listRoles(user.id)).toEqual(['reader', 'waiting']);
    } finally {
      clearInterval(timer);
      if (other.inTransaction) other.exec('rollback');
      other.close();
    }
  });

  it("keeps the other side's microsecond timestamps and reads them", async () => {
    const { store, sql } = await storeTarget('sqlite', [], { orms: 1 });
    const user = await store.createUser({ email: 'py@x.io' });
    // Rows as SQLAlchemy writes them: UTC text with microseconds.
    const family = 'a'.repeat(32);
    for (const [id, created, revoked] of [
      ['1'.repeat(32), '2026-01-01 10:00:00.123456', 1],
      ['2'.repeat(32), '2026-01-01 10:00:00.123789', 0],
    ] as const) {
      await sql(
        `insert into fullauth_refresh_tokens (id, token, user_id, family_id, expires_at, revoked, created_at) values (?, ?, ?, ?, '2999-01-01 00:00:00.000001', ?, ?)`,
        [id, `digest-${id}`, hex(user.id), family, revoked, created],
      );
    }
    const [session] = await store.listSessions(user.id);
    expect(session).toMatchObject({ familyId: family, startedAt: new Date('2026-01-01T10:00:00.123Z'), lastUsedAt: new Date('2026-01-01T10:00:00.123Z') });
    await store.issueRefreshToken(user.id);
    await store.revokeFamily(family);
    await store.revokeAllForUser(user.id);
    const rows = await sql('select id, created_at, expires_at from fullauth_refresh_tokens where family_id = ? order by id', [family]);
    expect(rows.map((r) => [r.created_at, r.expires_at])).toEqual([
      ['2026-01-01 10:00:00.123456', '2999-01-01 00:00:00.000001'],
      ['2026-01-01 10:00:00.123789', '2999-01-01 00:00:00.000001'],
    ]);
  });
});

/** Installed in the MikroORM 6 job only (ci/mikro-orm-6), so imported by a name the root's type-checker does not follow. */
const LIBSQL_ORM = '@mikro-orm/libsql';
const docsDirs: string[] = [];
afterAll(() => removeDirs(docsDirs));

describe('docs/sqlite.md on MikroORM 6: the libSQL config', () => {
  const title = "the example type-checks against MikroORM 6, the real CLI migrates with it, and it gives WAL, libsql's busy timeout and the store";
  (MIKRO_ORM_6 ? it : it.skip)(
    MIKRO_ORM_6 ? title : `${title} (skipped on MikroORM 7: the example is MikroORM 6's, and @mikro-orm/libsql 6 is installed in the MikroORM 6 job only)`,
    async () => {
      const dir = scratchDir('docs-libsql', docsDirs);
      const file = join(dir, 'app.sqlite');
      const example = await checkedMikroOrm6Example('docs/sqlite.md', dir);
      // Run: the package from src/, the files in the scratch folder.
      const config = join(dir, 'mikro-orm.config.ts');
      writeFileSync(
        config,
        example
          .replace("from 'mikro-orm-fullauth'", `from ${JSON.stringify(join(ROOT, 'src/index.js'))}`)
          .replace("'./app.sqlite'", JSON.stringify(file))
          .replace("'./migrations'", JSON.stringify(join(dir, 'migrations'))),
      );
      const userEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
      for (const args of [['migration:create', '--initial'], ['migration:up']]) {
        const cli = await runCommand(process.execPath, ['--import', 'tsx', join(ROOT, 'node_modules/@mikro-orm/cli/cli.js'), ...args, '--config', config], {
          cwd: ROOT,
          env: { ...userEnv, ...CLI_ENV, NO_COLOR: '1', FORCE_COLOR: '0' },
        });
        expect({ args, status: cli.status, output: cli.status === 0 ? '' : cli.output }).toEqual({ args, status: 0, output: '' });
      }

      const { MikroORM } = (await import(/* @vite-ignore */ LIBSQL_ORM)) as { MikroORM: { init(options: object): Promise<import('@mikro-orm/sql').MikroORM> } };
      const options = ((await import(/* @vite-ignore */ config)) as { default: object }).default;
      const orm = await MikroORM.init({ ...options, debug: false });
      try {
        expect((await checkFullauthSchema(orm)).ok).toBe(true);
        const connection = orm.em.getConnection();
        expect(await connection.execute('pragma journal_mode')).toEqual([{ journal_mode: 'wal' }]);
        expect(await connection.execute('pragma busy_timeout')).toEqual([{ timeout: 5000 }]);
        const store = createFullauthStore(orm.em);
        const user = await store.createUser({ email: 'Docs@Example.com' });
        const rotated = await store.rotateRefreshToken((await store.issueRefreshToken(user.id)).token);
        expect(await store.listSessions(user.id)).toMatchObject([{ familyId: rotated.familyId }]);
      } finally {
        await orm.close();
      }
    },
  );
});
