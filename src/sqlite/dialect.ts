// node:sqlite for MikroORM (a Kysely dialect, like MikroORM's NodeSqliteDialect), for a SQLite
// file that other processes write too, such as a Python fastapi-fullauth service:
// - a statement that meets another connection's lock waits for it, up to `busyTimeout`
//   milliseconds, without blocking the event loop: SQLite's own busy timeout would sleep
//   inside the synchronous node:sqlite call and freeze the process, so the connection runs
//   with busy_timeout 0 and a statement that fails with SQLITE_BUSY is tried again after a
//   timer (the back-off of SQLite's own busy handler), until the timeout, then fails with a
//   `FullauthSqliteBusyError` that names it;
// - a transaction begins with BEGIN IMMEDIATE (MikroORM's are flushes: a write follows), so a
//   lock conflict shows at BEGIN, which can be retried, rather than at the first write inside
//   it, which could not; `readOnly` transactions begin DEFERRED;
// - the file is put in WAL mode (`wal: true`, the default): readers and the one writer no
//   longer wait for each other; the mode is stored in the file, so the other process's
//   connections use it too.
import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { LockWaitTimeoutException } from '@mikro-orm/core';
import { FullauthConfigError, showValue } from '../errors.js';
import { requireHere } from '../orm-compat.js';
import { assertOptionalBoolean, readOptions, rejectUnknownKeys, type GivenOptions } from '../read-options.js';

/** The options of `fullauthSqlite()`. `null` or left out: the default. */
export interface FullauthSqliteOptions {
  /** The database file, as for `NodeSqliteDialect` (`':memory:'` for an in-memory database). */
  file: string;
  /**
   * How long, in milliseconds, a statement waits for a lock another connection holds before
   * it fails. Default 5000, as Python's `sqlite3` (and so fastapi-fullauth) waits; 0 fails at once.
   */
  busyTimeout?: number | null;
  /** Put the file in WAL mode (`pragma journal_mode = wal`). Default `true`. */
  wal?: boolean | null;
}

/** Default `busyTimeout`: Python's sqlite3 waits 5 s. */
export const DEFAULT_SQLITE_BUSY_TIMEOUT = 5000;

/**
 * A statement met another connection's lock for longer than `busyTimeout`. It is MikroORM's
 * `LockWaitTimeoutException` (a statement MikroORM runs itself reaches the caller as a plain
 * `LockWaitTimeoutException` with the same message and fields).
 */
export class FullauthSqliteBusyError extends LockWaitTimeoutException {
  /** SQLite's (extended) result code of the last attempt: SQLITE_BUSY (5) or one of its variants. */
  readonly errcode: number;
  readonly errstr = 'database is locked';

  constructor(
    /** The database file. */
    readonly file: string,
    /** The timeout that ran out, in milliseconds. */
    readonly busyTimeout: number,
    /** The statement that waited (its SQL, without values). */
    readonly sql: string,
    options: { cause: unknown; inTransaction: boolean },
  ) {
    const retry = options.inTransaction ? '; the transaction must be retried from its start' : '';
    const message = `database is locked: ${describeStatement(sql)} waited ${busyTimeout} ms (busyTimeout) for another connection's lock on the SQLite file ${file}${retry}`;
    super(Object.assign(new Error(message, { cause: options.cause }), { code: 'ERR_SQLITE_ERROR' }));
    this.errcode = (options.cause as { errcode?: number } | undefined)?.errcode ?? SQLITE_BUSY;
  }
}

const SQLITE_BUSY = 5;
/** A transaction's snapshot is older than a commit it would write over: only a new transaction helps. */
const SQLITE_BUSY_SNAPSHOT = 517;
/** SQLite's own busy handler waits these steps (sqliteDefaultBusyCallback), then 100 ms at a time. */
const BACKOFF_MS = [1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100];

const isBusy = (error: unknown): boolean => {
  const code = (error as { errcode?: unknown } | null)?.errcode;
  return typeof code === 'number' && (code & 0xff) === SQLITE_BUSY;
};

/** The statement's first words (never its values, which are bound parameters anyway). */
const describeStatement = (sql: string): string => {
  const words = sql.trim().split(/\s+/);
  const head = words.slice(0, 3).join(' ').toLowerCase().slice(0, 60);
  return `"${head}${words.length > 3 ? ' …' : ''}"`;
};

// The Kysely interfaces used here, structurally (kysely is MikroORM's dependency, not ours).
interface CompiledQuery {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}
interface QueryResult {
  rows: Record<string, unknown>[];
  insertId?: bigint;
  numAffectedRows?: bigint;
}
interface KyselyConnection {
  executeQuery(query: CompiledQuery): Promise<QueryResult>;
  streamQuery(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult>;
}
interface TransactionSettings {
  readonly accessMode?: 'read only' | 'read write';
}
type SavepointMethod = (connection: KyselyConnection, name: string, compile: unknown) => Promise<void>;
interface KyselyDriver {
  init(): Promise<void>;
  acquireConnection(): Promise<KyselyConnection>;
  beginTransaction(connection: KyselyConnection, settings: TransactionSettings): Promise<void>;
  commitTransaction(connection: KyselyConnection): Promise<void>;
  rollbackTransaction(connection: KyselyConnection): Promise<void>;
  savepoint?: SavepointMethod;
  rollbackToSavepoint?: SavepointMethod;
  releaseSavepoint?: SavepointMethod;
  releaseConnection(connection: KyselyConnection): Promise<void>;
  destroy(): Promise<void>;
}
interface KyselyDialect {
  createDriver(): KyselyDriver;
  createQueryCompiler(): unknown;
  createAdapter(): unknown;
  createIntrospector(db: unknown): unknown;
}

interface Settings {
  file: string;
  busyTimeout: number;
  wal: boolean;
}

/**
 * node:sqlite for MikroORM's `SqliteDriver` (`driverOptions`), for a file shared with other
 * processes: waits for their locks without freezing the process, begins transactions with
 * BEGIN IMMEDIATE, WAL mode. See docs/sqlite.md.
 *
 * @example
 * defineConfig({ driver: SqliteDriver, dbName: './app.sqlite', driverOptions: fullauthSqlite({ file: './app.sqlite' }), … })
 */
export function fullauthSqlite(options: FullauthSqliteOptions): FullauthSqliteDialect {
  return new FullauthSqliteDialect(options);
}

/** The dialect `fullauthSqlite()` returns. */
export class FullauthSqliteDialect implements KyselyDialect {
  readonly #settings: Settings;
  /** MikroORM's NodeSqliteDialect: its query compiler, adapter and introspector are Kysely's SQLite ones. */
  readonly #sqlite: KyselyDialect;

  constructor(given: FullauthSqliteOptions) {
    this.#settings = readSqliteOptions(given);
    const { NodeSqliteDialect } = requireHere('@mikro-orm/sql') as { NodeSqliteDialect: new (file: string) => KyselyDialect };
    this.#sqlite = new NodeSqliteDialect(this.#settings.file);
  }

  /** The settings in force: the file, the busy timeout in milliseconds, WAL. */
  get settings(): Readonly<Settings> {
    return { ...this.#settings };
  }

  createDriver(): KyselyDriver {
    return new FullauthSqliteDriver(this.#settings, this.#sqlite.createDriver());
  }
  createQueryCompiler(): unknown {
    return this.#sqlite.createQueryCompiler();
  }
  createAdapter(): unknown {
    return this.#sqlite.createAdapter();
  }
  createIntrospector(db: unknown): unknown {
    return this.#sqlite.createIntrospector(db);
  }
}

function readSqliteOptions(given: GivenOptions<FullauthSqliteOptions>): Settings {
  const options = readOptions(given, 'fullauthSqlite() options');
  rejectUnknownKeys(options, ['file', 'busyTimeout', 'wal'], 'fullauthSqlite() option');
  if (typeof options.file !== 'string' || options.file === '') {
    throw new FullauthConfigError(`fullauthSqlite() needs file: the database file (or ':memory:'), got ${showValue(options.file)}.`);
  }
  const busyTimeout = options.busyTimeout ?? DEFAULT_SQLITE_BUSY_TIMEOUT;
  if (typeof busyTimeout !== 'number' || !Number.isSafeInteger(busyTimeout) || busyTimeout < 0) {
    throw new FullauthConfigError(`busyTimeout must be a whole number of milliseconds, 0 or more, got ${showValue(busyTimeout)}.`);
  }
  assertOptionalBoolean(options.wal, 'wal');
  return { file: options.file, busyTimeout, wal: options.wal ?? true };
}

const inMemory = (file: string): boolean => file === ':memory:' || file === '' || /^file::memory:|[?&]mode=memory\b/.test(file);

class FullauthSqliteDriver implements KyselyDriver {
  #connection: FullauthSqliteConnection | undefined;

  constructor(
    private readonly settings: Settings,
    /** Kysely's SQLite driver, for its savepoint statements (it runs them on the connection it is given). */
    private readonly sqlite: KyselyDriver,
  ) {}

  async init(): Promise<void> {
    // Loaded when MikroORM first connects (node:sqlite is Node.js 22's; this module is also loaded on Node 20).
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(this.settings.file);
    const connection = new FullauthSqliteConnection(db, this.settings);
    try {
      // SQLite's busy timeout would block the event loop: the waiting is done here instead.
      await connection.executeQuery({ sql: 'pragma busy_timeout = 0', parameters: [] });
      if (this.settings.wal && !inMemory(this.settings.file)) {
        await connection.executeQuery({ sql: 'pragma journal_mode = wal', parameters: [] });
      }
    } catch (error) {
      db.close();
      throw error;
    }
    this.#connection = connection;
  }

  async acquireConnection(): Promise<KyselyConnection> {
    // Kysely serialises the users of this one connection (its SQLite adapter has no pool).
    return this.#connection!;
  }

  async beginTransaction(connection: KyselyConnection, settings: TransactionSettings): Promise<void> {
    (connection as FullauthSqliteConnection).begin(settings.accessMode === 'read only' ? 'deferred' : 'immediate');
  }

  async commitTransaction(connection: KyselyConnection): Promise<void> {
    await (connection as FullauthSqliteConnection).end('commit');
  }

  async rollbackTransaction(connection: KyselyConnection): Promise<void> {
    await (connection as FullauthSqliteConnection).end('rollback');
  }

  savepoint: SavepointMethod = (connection, name, compile) => this.sqlite.savepoint!(connection, name, compile);
  rollbackToSavepoint: SavepointMethod = (connection, name, compile) => this.sqlite.rollbackToSavepoint!(connection, name, compile);
  releaseSavepoint: SavepointMethod = (connection, name, compile) => this.sqlite.releaseSavepoint!(connection, name, compile);

  async releaseConnection(): Promise<void> {}

  async destroy(): Promise<void> {
    this.#connection?.close();
    this.#connection = undefined;
  }
}

const READER = /^\s*(select|pragma|explain|with)/i;
const RETURNING = /\breturning\b/i;
const COMMIT = /^\s*(commit|end)\b/i;
/** A read needs no lock it could be waiting to upgrade: waiting for it is safe in any transaction. */
const SELECT = /^\s*select\b/i;

class FullauthSqliteConnection implements KyselyConnection {
  /** How the open transaction began: `immediate` holds the write lock. */
  #transaction: 'immediate' | 'deferred' | undefined;
  /**
   * A transaction begun but not yet sent: BEGIN goes out with the transaction's first
   * statement, so that a BEGIN that times out fails inside the transaction, which MikroORM
   * then rolls back (Kysely keeps the connection of a transaction whose BEGIN itself failed).
   */
  #pending: 'immediate' | 'deferred' | undefined;

  constructor(
    private readonly db: DatabaseSync,
    private readonly settings: Settings,
  ) {}

  async executeQuery(query: CompiledQuery): Promise<QueryResult> {
    await this.#sendBegin();
    return this.#retrying(query.sql, () => this.#execute(query));
  }

  async *streamQuery(query: CompiledQuery): AsyncIterableIterator<QueryResult> {
    await this.#sendBegin();
    const statement = await this.#retrying(query.sql, () => this.db.prepare(query.sql));
    for (const row of statement.iterate(...(query.parameters as SQLInputValue[]))) yield { rows: [row as Record<string, unknown>] };
  }

  begin(mode: 'immediate' | 'deferred'): void {
    this.#pending = mode;
  }

  async end(statement: 'commit' | 'rollback'): Promise<void> {
    if (this.#pending || !this.#inTransaction()) {
      // Nothing was sent, or the BEGIN failed: nothing to end (and an error here would keep
      // Kysely from releasing the connection).
      this.#pending = undefined;
      this.#transaction = undefined;
      return;
    }
    try {
      await this.#retrying(statement, () => this.db.exec(statement));
    } finally {
      // A failed COMMIT leaves the transaction open (SQLite's rule); MikroORM then rolls back.
      if (!this.#inTransaction()) this.#transaction = undefined;
    }
  }

  async #sendBegin(): Promise<void> {
    const mode = this.#pending;
    if (!mode) return;
    this.#pending = undefined;
    const sql = mode === 'immediate' ? 'begin immediate' : 'begin';
    await this.#retrying(sql, () => this.db.exec(sql));
    this.#transaction = mode;
  }

  close(): void {
    this.db.close();
  }

  #execute({ sql, parameters }: CompiledQuery): QueryResult {
    const statement: StatementSync = this.db.prepare(sql);
    const values = parameters as SQLInputValue[];
    if (READER.test(sql) || RETURNING.test(sql)) return { rows: statement.all(...values) as Record<string, unknown>[] };
    const { changes, lastInsertRowid } = statement.run(...values);
    return { rows: [], insertId: BigInt(lastInsertRowid), numAffectedRows: BigInt(changes) };
  }

  #inTransaction(): boolean {
    return this.db.isTransaction;
  }

  /**
   * Runs `attempt`; while it fails with SQLITE_BUSY and may be tried again, tries again after
   * a timer, until `busyTimeout` has passed. A statement may be tried again where SQLite's own
   * busy handler would wait: outside a transaction (the failed statement left nothing behind),
   * BEGIN and COMMIT, any statement of a transaction that holds the write lock (BEGIN
   * IMMEDIATE), and a SELECT. A write in a deferred transaction may be the one SQLite refuses
   * to let wait (it holds a read lock the other writer waits for), and against a newer commit
   * (SQLITE_BUSY_SNAPSHOT) waiting cannot help: the error is thrown at once, and the
   * transaction is to be retried from its start.
   */
  async #retrying<T>(sql: string, attempt: () => T): Promise<T> {
    const started = performance.now();
    for (let tries = 0; ; tries++) {
      try {
        return attempt();
      } catch (error) {
        if (!isBusy(error)) throw error;
        const inTransaction = this.#inTransaction();
        const snapshot = (error as { errcode: number }).errcode === SQLITE_BUSY_SNAPSHOT;
        const waitable =
          !inTransaction ||
          COMMIT.test(sql) ||
          (!snapshot && (this.#transaction === 'immediate' || (this.#transaction === 'deferred' && SELECT.test(sql))));
        if (!waitable) throw error;
        const waited = performance.now() - started;
        const { busyTimeout, file } = this.settings;
        if (waited >= busyTimeout) throw new FullauthSqliteBusyError(file, busyTimeout, sql, { cause: error, inTransaction });
        const step = BACKOFF_MS[tries] ?? BACKOFF_MS[BACKOFF_MS.length - 1]!;
        await new Promise((resolve) => setTimeout(resolve, Math.min(step, busyTimeout - waited)));
      }
    }
  }
}
