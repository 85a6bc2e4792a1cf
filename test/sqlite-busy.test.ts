// A SQLite file written by another process too (a Python fastapi-fullauth service): with
// fullauthSqlite(), a flush that meets the other process's write lock waits for it (up to
// busyTimeout) while the event loop keeps running, then succeeds; past the timeout it fails
// with an error naming it. Transactions begin with BEGIN IMMEDIATE; the file is in WAL mode,
// where a reader does not wait for the writer. The other process is real: python3's own
// sqlite3 module (as the Python service uses it) or a child `node`, holding BEGIN IMMEDIATE.
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LockWaitTimeoutException } from '@mikro-orm/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FullauthConfigError,
  FullauthSqliteBusyError,
  createFullauthStore,
  defineFullauthEntities,
  fullauthMigrations,
  fullauthMigrator,
  fullauthSchemaHooks,
  fullauthSqlite,
  type FullauthSqliteOptions,
} from '../src/index.js';
import { SQLITE_UNSUPPORTED, removeDirs, scratchDir } from './support/databases.js';
import { PYTHON } from './support/python.js';

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

const pythonMissing = spawnSync(PYTHON, ['-c', 'import sqlite3'], { encoding: 'utf8' }).status === 0 ? undefined : `${PYTHON} with its sqlite3 module is not available`;

type Lock = { released: Promise<void>; release(): void };

/**
 * Another process takes the write lock of `file` (BEGIN IMMEDIATE and an insert), holds it
 * for `ms`, then commits. Resolves once the lock is held.
 */
async function holdWriteLock(file: string, ms: number, via: 'python' | 'node'): Promise<Lock> {
  const row = `insert into fullauth_roles (id, name) values ('${'0'.repeat(31)}1', 'held by ${via}')`;
  const child =
    via === 'python'
      ? spawn(PYTHON, [
          '-c',
          `import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
db.execute(sys.argv[2])
print("locked", flush=True)
time.sleep(float(sys.argv[3]) / 1000)
db.execute("COMMIT")
print("released", flush=True)`,
          file,
          row,
          String(ms),
        ])
      : spawn(process.execPath, [
          '--disable-warning=ExperimentalWarning',
          '-e',
          `const { DatabaseSync } = require('node:sqlite');
const [file, row, ms] = process.argv.slice(1);
const db = new DatabaseSync(file);
db.exec('begin immediate'); db.exec(row);
console.log('locked');
setTimeout(() => { db.exec('commit'); console.log('released'); }, Number(ms));`,
          file,
          row,
          String(ms),
        ]);
  let output = '';
  const released = new Promise<void>((resolve, reject) => {
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`the ${via} lock holder exited ${code}:\n${output}`))));
  });
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (chunk) => (output += String(chunk)));
    child.stdout.on('data', (chunk) => {
      output += String(chunk);
      if (output.includes('locked')) resolve();
    });
    released.then(() => reject(new Error(`the ${via} lock holder ended before taking the lock:\n${output}`)), reject);
  });
  return { released, release: () => child.kill() };
}

/** Counts a 10 ms interval's ticks and the longest gap between two of them (how long the event loop stood still). */
function watchEventLoop(): { stop(): { ticks: number; longestGapMs: number } } {
  let ticks = 0;
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
    ticks++;
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      return { ticks, longestGapMs: Math.max(longest, performance.now() - last) };
    },
  };
}

/** An ORM on a new file through fullauthSqlite() (or `plain`: MikroORM's NodeSqliteDialect), with the tables created. */
async function sqliteOrm(label: string, options: Omit<FullauthSqliteOptions, 'file'> | 'plain', file = join(scratchDir(label, dirs), 'app.sqlite')) {
  const { MikroORM, NodeSqliteDialect, SqliteDriver } = await import('@mikro-orm/sql');
  const entities = defineFullauthEntities(['role']);
  const orm = await MikroORM.init({
    driver: SqliteDriver,
    dbName: file,
    driverOptions: options === 'plain' ? new NodeSqliteDialect(file) : fullauthSqlite({ file, ...options }),
    entities: [...entities],
    extensions: [fullauthSchemaHooks()],
    debug: false,
  });
  await orm.schema.create();
  return { orm, entities, file };
}

async function elapsed<T>(fn: () => Promise<T>): Promise<{ ms: number; value?: T; error?: unknown }> {
  const start = performance.now();
  try {
    const value = await fn();
    return { ms: performance.now() - start, value };
  } catch (error) {
    return { ms: performance.now() - start, error };
  }
}

describe.skipIf(!!SQLITE_UNSUPPORTED)(`SQLite shared with another process: fullauthSqlite()${SQLITE_UNSUPPORTED ? ` (${SQLITE_UNSUPPORTED})` : ''}`, () => {
  for (const via of ['python', 'node'] as const) {
    const title = `a flush waits for the write lock ${via === 'python' ? "Python's sqlite3" : 'a child node process'} holds (~1 s), without freezing the event loop, then succeeds`;
    it.skipIf(via === 'python' && !!pythonMissing)(`${title}${via === 'python' && pythonMissing ? ` (${pythonMissing})` : ''}`, async () => {
      const { orm, entities } = await sqliteOrm(`busy-${via}`, {});
      try {
        const lock = await holdWriteLock(orm.config.get('dbName')!, 1000, via);
        const loop = watchEventLoop();
        const em = orm.em.fork();
        em.create(entities.FullauthUser, { email: `${via}@example.com` });
        const flush = await elapsed(() => em.flush());
        const { ticks, longestGapMs } = loop.stop();
        await lock.released;
        expect(flush.error).toBeUndefined();
        // It did wait for the other process (which held the lock ~1 s from before the flush)…
        expect(flush.ms).toBeGreaterThan(300);
        // …and the process went on meanwhile: timers fired throughout (a blocking wait shows one gap of ~1 s, see the control below).
        expect(ticks).toBeGreaterThanOrEqual(10);
        expect(longestGapMs).toBeLessThan(500);
        const fresh = orm.em.fork();
        expect(await fresh.count(entities.FullauthUser, { email: `${via}@example.com` })).toBe(1);
        expect(await fresh.count(entities.FullauthRole, { name: `held by ${via}` })).toBe(1);
      } finally {
        await orm.close();
      }
    });
  }

  it('past busyTimeout: a clear error naming the timeout (a LockWaitTimeoutException), the event loop running meanwhile; then it works again', async () => {
    const { orm, entities } = await sqliteOrm('busy-timeout', { busyTimeout: 300 });
    try {
      const lock = await holdWriteLock(orm.config.get('dbName')!, 2500, 'node');
      const loop = watchEventLoop();
      const em = orm.em.fork();
      em.create(entities.FullauthUser, { email: 'late@example.com' });
      const flush = await elapsed(() => em.flush());
      const { ticks, longestGapMs } = loop.stop();
      expect(flush.error).toBeInstanceOf(FullauthSqliteBusyError);
      expect(flush.error).toBeInstanceOf(LockWaitTimeoutException);
      const error = flush.error as FullauthSqliteBusyError;
      expect(error.message).toMatch(/^database is locked: "begin immediate" waited 300 ms \(busyTimeout\) for another connection's lock on the SQLite file .*app\.sqlite$/);
      expect(error.busyTimeout).toBe(300);
      expect(error.errcode).toBe(5);
      expect(flush.ms).toBeGreaterThanOrEqual(295);
      expect(flush.ms).toBeLessThan(2000);
      expect(ticks).toBeGreaterThanOrEqual(5);
      expect(longestGapMs).toBeLessThan(500);

      // A statement outside a transaction waits and fails the same way (through MikroORM's own error conversion).
      const insert = await elapsed(() => orm.em.getConnection().execute(`insert into fullauth_roles (id, name) values ('${'0'.repeat(31)}2', 'raw')`));
      expect(insert.error).toBeInstanceOf(LockWaitTimeoutException);
      expect((insert.error as Error).message).toMatch(/^database is locked: "insert into fullauth_roles …" waited 300 ms \(busyTimeout\)/);

      await lock.released;
      const again = orm.em.fork();
      again.create(entities.FullauthUser, { email: 'again@example.com' });
      await again.flush();
      expect(await orm.em.fork().count(entities.FullauthUser, {})).toBe(1);
    } finally {
      await orm.close();
    }
  });

  it('busyTimeout 0 fails at once, at BEGIN IMMEDIATE (before any write of the transaction)', async () => {
    const { orm, entities } = await sqliteOrm('busy-zero', { busyTimeout: 0 });
    try {
      const lock = await holdWriteLock(orm.config.get('dbName')!, 1500, 'node');
      const em = orm.em.fork();
      em.create(entities.FullauthUser, { email: 'now@example.com' });
      const flush = await elapsed(() => em.flush());
      expect((flush.error as Error | undefined)?.message).toMatch(/^database is locked: "begin immediate" waited 0 ms/);
      expect(flush.ms).toBeLessThan(500);
      await lock.released;
    } finally {
      await orm.close();
    }
  });

  it('a busyTimeout beyond a timer\'s longest delay (2^31 ms) still lets a store call wait for the connection another EntityManager holds', async () => {
    const { orm } = await sqliteOrm('busy-huge', { busyTimeout: 2 ** 31 });
    try {
      const store = createFullauthStore(orm.em.fork(), { busyTimeout: 100 });
      const user = await store.createUser({ email: 'huge@example.com' });
      // Another EntityManager's transaction holds the one connection for 300 ms, without waiting for the call.
      const held = orm.em.fork().transactional(async (em) => {
        await em.getConnection().execute('select 1', [], 'all', em.getTransactionContext());
        await new Promise((resolve) => setTimeout(resolve, 300));
      });
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await store.findUserByEmail('huge@example.com'))?.id).toBe(user.id);
      await held;
    } finally {
      await orm.close();
    }
  });

  it('two connections (two ORMs on one file) flushing at the same time: every flush succeeds, none is lost', async () => {
    const first = await sqliteOrm('busy-two', {});
    const { MikroORM, SqliteDriver } = await import('@mikro-orm/sql');
    const entities = defineFullauthEntities(['role']);
    const second = await MikroORM.init({
      driver: SqliteDriver,
      dbName: first.file,
      driverOptions: fullauthSqlite({ file: first.file }),
      entities: [...entities],
      debug: false,
    });
    try {
      const flushes = [first, { orm: second, entities }].flatMap(({ orm, entities: e }, side) =>
        Array.from({ length: 15 }, async (_, i) => {
          const em = orm.em.fork();
          for (let n = 0; n < 3; n++) em.create(e.FullauthUser, { email: `u${side}-${i}-${n}@example.com` });
          await em.flush();
        }),
      );
      const results = await Promise.allSettled(flushes);
      expect(results.filter((r) => r.status === 'rejected')).toEqual([]);
      expect(await first.orm.em.fork().count(first.entities.FullauthUser, {})).toBe(90);
    } finally {
      await second.close();
      await first.orm.close();
    }
  });

  it('WAL: the file is in WAL mode, and a read (also a readOnly transaction) does not wait for the other process’s write', async () => {
    const { orm, entities, file } = await sqliteOrm('wal', {});
    try {
      expect(await orm.em.getConnection().execute('pragma journal_mode')).toEqual([{ journal_mode: 'wal' }]);
      const lock = await holdWriteLock(file, 1500, 'node');
      const read = await elapsed(() => orm.em.fork().count(entities.FullauthRole, {}));
      expect(read.error).toBeUndefined();
      expect(read.value).toBe(0); // the other process's row is not committed yet
      expect(read.ms).toBeLessThan(500);
      const readOnly = await elapsed(() => orm.em.fork().transactional((em) => em.count(entities.FullauthRole, {}), { readOnly: true }));
      expect(readOnly.error).toBeUndefined();
      expect(readOnly.ms).toBeLessThan(500);
      await lock.released;
      expect(await orm.em.fork().count(entities.FullauthRole, {})).toBe(1);
    } finally {
      await orm.close();
    }
  });

  it('wal: false leaves the journal mode alone', async () => {
    const { orm } = await sqliteOrm('no-wal', { wal: false });
    try {
      expect(await orm.em.getConnection().execute('pragma journal_mode')).toEqual([{ journal_mode: 'delete' }]);
    } finally {
      await orm.close();
    }
  });

  it("control: MikroORM's NodeSqliteDialect fails within milliseconds with 'database is locked'", async () => {
    const { orm, entities } = await sqliteOrm('busy-plain', 'plain');
    try {
      const lock = await holdWriteLock(orm.config.get('dbName')!, 1000, 'node');
      const em = orm.em.fork();
      em.create(entities.FullauthUser, { email: 'plain@example.com' });
      const flush = await elapsed(() => em.flush());
      expect((flush.error as Error | undefined)?.message).toMatch(/database is locked/);
      expect(flush.ms).toBeLessThan(500);
      await lock.released;
    } finally {
      await orm.close();
    }
  });

  it("control: node:sqlite's own busy_timeout waits, but freezes the event loop meanwhile", async () => {
    const { orm, entities } = await sqliteOrm('busy-blocking', 'plain');
    try {
      await orm.em.getConnection().execute('pragma busy_timeout = 5000');
      const lock = await holdWriteLock(orm.config.get('dbName')!, 1000, 'node');
      const loop = watchEventLoop();
      const em = orm.em.fork();
      em.create(entities.FullauthUser, { email: 'blocked@example.com' });
      const flush = await elapsed(() => em.flush());
      const { longestGapMs } = loop.stop();
      await lock.released;
      // With MikroORM's BEGIN (deferred) the wait happens at the insert, inside node:sqlite's synchronous call.
      expect(flush.error).toBeUndefined();
      expect(longestGapMs).toBeGreaterThan(600);
    } finally {
      await orm.close();
    }
  });

  // Rollback-journal mode (wal: false): COMMIT needs every reader gone. A busy COMMIT that
  // waits keeps its claim on the lock (no new reader gets in); one rolled back and retried
  // from BEGIN would let readers that overlap each other keep it out for ever.
  it('wal: false: readers of other connections that never all leave at once cannot keep a store transaction from committing', async () => {
    const { orm, file } = await sqliteOrm('busy-readers', { wal: false });
    const { DatabaseSync } = await import('node:sqlite');
    const readers = [new DatabaseSync(file), new DatabaseSync(file)];
    let stop = false;
    const cycle = (i: number) => {
      if (stop) return;
      const reader = readers[i]!;
      try {
        if (reader.isTransaction) reader.exec('commit');
        reader.exec('begin');
        reader.prepare('select count(*) from fullauth_users').all(); // a shared lock, held until the next cycle
      } catch {
        if (reader.isTransaction) reader.exec('rollback');
      }
      setTimeout(() => cycle(i), 20);
    };
    try {
      const store = createFullauthStore(orm.em, { busyTimeout: 1500 });
      const user = await store.createUser({ email: 'readers@example.com' });
      await store.assignRole(user.id, 'before');
      cycle(0);
      setTimeout(() => cycle(1), 10);
      for (let round = 0; round < 3; round++) {
        const change = await elapsed(() => store.changePassword(user.id, `hash${round}`));
        expect(change.error).toBeUndefined();
        const assign = await elapsed(() => store.assignRole(user.id, `role${round}`));
        expect(assign.error).toBeUndefined();
      }
      expect(await store.listRoles(user.id)).toEqual(['before', 'role0', 'role1', 'role2']);
    } finally {
      stop = true;
      for (const reader of readers) {
        if (reader.isTransaction) reader.exec('commit');
        reader.close();
      }
      await orm.close();
    }
  });

  it('wal: false: a managed migration waits at COMMIT for a reader of another connection', async () => {
    const file = join(scratchDir('busy-migrate', dirs), 'app.sqlite');
    const { MikroORM, SqliteDriver } = await import('@mikro-orm/sql');
    const { Migrator } = await import('@mikro-orm/migrations');
    const init = (include: 'base' | 'role') =>
      MikroORM.init({
        driver: SqliteDriver,
        dbName: file,
        driverOptions: fullauthSqlite({ file, wal: false }),
        entities: [...defineFullauthEntities(include === 'base' ? [] : ['role'])],
        extensions: [Migrator, fullauthSchemaHooks({ excludeFromDiff: true })],
        migrations: fullauthMigrations({ silent: true }),
        debug: false,
      });
    const first = await init('base');
    try {
      expect(await fullauthMigrator(first).up()).toEqual(['0001_base']);
    } finally {
      await first.close();
    }
    const second = await init('role');
    const { DatabaseSync } = await import('node:sqlite');
    const reader = new DatabaseSync(file);
    reader.exec('begin');
    reader.prepare('select count(*) from sqlite_master').all(); // a shared lock for 300 ms
    setTimeout(() => {
      reader.exec('commit');
      reader.close();
    }, 300);
    try {
      const migrated = await elapsed(() => fullauthMigrator(second).up());
      expect(migrated.error).toBeUndefined();
      expect(migrated.value).toEqual(['0001_role']);
      expect(migrated.ms).toBeGreaterThan(200);
    } finally {
      await second.close();
    }
  });

  it('refuses bad options with a FullauthConfigError', () => {
    expect(() => fullauthSqlite({ file: '' })).toThrow(FullauthConfigError);
    expect(() => fullauthSqlite({ file: 'x.sqlite', busyTimeout: -1 })).toThrow(/busyTimeout must be a whole number of milliseconds/);
    expect(() => fullauthSqlite({ file: 'x.sqlite', busyTimeout: 1.5 })).toThrow(/busyTimeout/);
    expect(() => fullauthSqlite({ file: 'x.sqlite', wal: 'yes' as never })).toThrow(/wal must be true or false/);
    expect(() => fullauthSqlite({ file: 'x.sqlite', timeout: 5 } as never)).toThrow(/Unknown fullauthSqlite\(\) option: 'timeout'/);
    expect(fullauthSqlite({ file: 'x.sqlite', busyTimeout: null, wal: null }).settings).toEqual({ file: 'x.sqlite', busyTimeout: 5000, wal: true });
  });
});
