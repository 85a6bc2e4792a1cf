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
//   connections use it too;
// - prepared statements are kept per connection (NodeSqliteDialect prepares each statement
//   on every call, which costs about as much as running it), and the store's statements reach
//   the connection without Kysely's executor (`fullauthSqliteStatement()`), taking turns
//   with Kysely's users through the connection's own lock.
import type { DatabaseSync, SQLInputValue, StatementResultingChanges, StatementSync } from 'node:sqlite';
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

/**
 * A store call waited longer than `busyTimeout` for the ORM's one SQLite connection, which
 * another user of the same ORM held all along: a transaction or a stream of another
 * EntityManager (which may itself be waiting for this call: on a pool it would not, on one
 * connection it never ends). MikroORM's `LockWaitTimeoutException`, as the other busy waits.
 */
export class FullauthSqliteConnectionHeldError extends LockWaitTimeoutException {
  constructor(
    /** The database file. */
    readonly file: string,
    /** The timeout that ran out, in milliseconds. */
    readonly busyTimeout: number,
  ) {
    super(
      Object.assign(
        new Error(
          `database is locked: a store call waited ${busyTimeout} ms (busyTimeout, at least 5 s) for this ORM's one connection to the SQLite file ${file}, ` +
            'held all that time by another user of the ORM (a transaction or a stream of another EntityManager). ' +
            'If that one waits for this call, it never ends: make the call on the EntityManager of that transaction (it then joins it), or after it.',
        ),
        { code: 'ERR_SQLITE_ERROR' },
      ),
    );
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
      connection.close();
      throw error;
    }
    this.#connection = connection;
  }

  async acquireConnection(): Promise<KyselyConnection> {
    // Kysely already serialises its own users of this one connection (its SQLite adapter has no
    // pool); the connection's own lock also keeps out the store's direct statements meanwhile.
    const connection = this.#connection!;
    await connection.acquire();
    return connection;
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

  async releaseConnection(connection: KyselyConnection): Promise<void> {
    (connection as FullauthSqliteConnection).release();
  }

  async destroy(): Promise<void> {
    this.#connection?.close();
    this.#connection = undefined;
  }
}

const READER = /^\s*(select|pragma|explain|with)/i;
function arraysOf(statement: StatementSync): StatementSync {
  statement.setReturnArrays(true);
  return statement;
}
const RETURNING = /\breturning\b/i;
const COMMIT = /^\s*(commit|end)\b/i;
/** A read needs no lock it could be waiting to upgrade: waiting for it is safe in any transaction. */
const SELECT = /^\s*select\b/i;
/**
 * Prepared statements kept per connection. The store has a few dozen statements; MikroORM's
 * own vary with the number of rows and columns, so the bound keeps a long-running process
 * from holding every variant it ever ran.
 */
const STATEMENT_CACHE_SIZE = 256;

// `statement.all(...values)` and `statement.run(...values)` with up to eight values passed one by
// one: V8 calls a node:sqlite method whose arguments are spread through its generic path (perf
// showed it as a visible share of a short statement; measured: the statements alone went from
// 0.89-0.90 to 0.91-0.92 of raw node:sqlite). The store binds at most eight values in nearly all
// of its statements.

/** A statement's values, read by position (only those below its length). */
type Values = [SQLInputValue, SQLInputValue, SQLInputValue, SQLInputValue, SQLInputValue, SQLInputValue, SQLInputValue, SQLInputValue];
function allOf(statement: StatementSync, values: SQLInputValue[]): unknown[] {
  const v = values as Values;
  switch (values.length) {
    case 0:
      return statement.all();
    case 1:
      return statement.all(v[0]);
    case 2:
      return statement.all(v[0], v[1]);
    case 3:
      return statement.all(v[0], v[1], v[2]);
    case 4:
      return statement.all(v[0], v[1], v[2], v[3]);
    case 5:
      return statement.all(v[0], v[1], v[2], v[3], v[4]);
    case 6:
      return statement.all(v[0], v[1], v[2], v[3], v[4], v[5]);
    case 7:
      return statement.all(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
    case 8:
      return statement.all(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    default:
      return statement.all(...values);
  }
}
function runOf(statement: StatementSync, values: SQLInputValue[]): StatementResultingChanges {
  const v = values as Values;
  switch (values.length) {
    case 0:
      return statement.run();
    case 1:
      return statement.run(v[0]);
    case 2:
      return statement.run(v[0], v[1]);
    case 3:
      return statement.run(v[0], v[1], v[2]);
    case 4:
      return statement.run(v[0], v[1], v[2], v[3]);
    case 5:
      return statement.run(v[0], v[1], v[2], v[3], v[4]);
    case 6:
      return statement.run(v[0], v[1], v[2], v[3], v[4], v[5]);
    case 7:
      return statement.run(v[0], v[1], v[2], v[3], v[4], v[5], v[6]);
    case 8:
      return statement.run(v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7]);
    default:
      return statement.run(...values);
  }
}

interface Prepared {
  statement: StatementSync;
  /** Rows come back (`all()`); otherwise `run()` and its change count. */
  reader: boolean;
  /** Used since the eviction last came round (second chance: a hit costs no reordering of the map). */
  used: boolean;
  /** The same statement returning each row as an array (`setReturnArrays`), made on first use. */
  arrays?: StatementSync;
}

/**
 * What one statement gave: its rows, or for a write (without RETURNING) node:sqlite's change
 * count; `affected` is that count as the store reads it (one object per statement, handed to
 * the store's direct path as it is).
 */
/** The rows of a statement that returns none: one frozen array for all (a write's result allocates no array). */
const NO_ROWS: Record<string, unknown>[] = Object.freeze([]) as unknown as Record<string, unknown>[];

interface Outcome extends DirectResult {
  changes?: StatementResultingChanges;
}

/** A statement's rows and the rows it changed (0 for a reader), as the store reads them. */
export interface DirectResult {
  rows: Record<string, unknown>[];
  affected: number;
  /**
   * Asked for as arrays (a reader, on a node:sqlite with `setReturnArrays`): each row's values
   * in the order of the statement's select list, and `rows` empty. node:sqlite makes an array
   * of a row faster than an object (its objects have no prototype and are read as
   * dictionaries), and a caller that names its columns in the SQL reads them by position.
   */
  values?: unknown[][];
}

/**
 * Whether a statement that meets another connection's lock waits for it (see #retrying): `true`
 * up to the connection's `busyTimeout`, a number up to that many milliseconds (the store's own
 * `busyTimeout`), `false` not at all (the caller waits and tries again).
 */
type Wait = boolean | number;
const timeoutOf = (wait: true | number, settings: Settings): number => (wait === true ? settings.busyTimeout : wait);

class FullauthSqliteConnection implements KyselyConnection {
  /** How the open transaction began: `immediate` holds the write lock. */
  #transaction: 'immediate' | 'deferred' | undefined;
  /**
   * A transaction begun but not yet sent: BEGIN goes out with the transaction's first
   * statement, so that a BEGIN that times out fails inside the transaction, which MikroORM
   * then rolls back (Kysely keeps the connection of a transaction whose BEGIN itself failed).
   */
  #pending: 'immediate' | 'deferred' | undefined;
  /** Prepared statements by SQL text, oldest first (see #evict). */
  readonly #statements = new Map<string, Prepared>();
  /** Held: by a Kysely user, a transaction of the store's, or a store statement waiting for another connection's lock. */
  #owned = false;
  /** Who waits for the connection, first come first served. */
  readonly #owners: (() => void)[] = [];
  /**
   * The last asynchronous step on the connection (a statement waiting for another connection's
   * lock, a BEGIN sent late): the next statement of the same owner goes after it.
   */
  #tail: Promise<unknown> | undefined;
  #closed = false;

  constructor(
    private readonly db: DatabaseSync,
    private readonly settings: Settings,
  ) {}

  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Takes the connection for a user of Kysely's (from `acquireConnection()` to
   * `releaseConnection()`), or for the store. The store's turn is given up after `busyTimeout`
   * (`FullauthSqliteConnectionHeldError`): whoever holds the connection may be waiting for it.
   */
  acquire(timeout?: number): Promise<void> {
    if (!this.#owned) {
      this.#owned = true;
      return Promise.resolve();
    }
    if (timeout === undefined) return new Promise((resolve) => this.#owners.push(resolve));
    return new Promise((resolve, reject) => {
      const turn = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        const waiting = this.#owners.indexOf(turn);
        if (waiting === -1) return;
        this.#owners.splice(waiting, 1);
        reject(new FullauthSqliteConnectionHeldError(this.settings.file, timeout));
      }, timeout);
      this.#owners.push(turn);
    });
  }

  /**
   * How long a store call waits for the connection while another user of this ORM holds it:
   * `busyTimeout`, and at least its default (5 s), as a flush or another call holds it only
   * briefly, even where `busyTimeout: 0` says not to wait for other processes' locks.
   */
  #heldWait(): number {
    // A timer's longest delay (about 24.8 days): beyond it Node would fire after 1 ms.
    return Math.min(Math.max(this.settings.busyTimeout, DEFAULT_SQLITE_BUSY_TIMEOUT), 2 ** 31 - 1);
  }

  /** Hands the connection to whoever waits first, or frees it. */
  release(): void {
    // Nobody waiting, the usual case: no shift() of an empty queue (a builtin call per transaction).
    if (this.#owners.length === 0) this.#owned = false;
    else this.#owners.shift()!();
  }

  /**
   * Runs `fn` while holding the connection, as Kysely's `connection()` would, for a
   * transaction of the store's own (which it begins and ends itself).
   */
  reserved<T, A>(fn: (reservation: SqliteReservation, arg: A) => T | Promise<T>, arg: A): T | Promise<T> {
    // Taken at once when free (acquire() without its promise), else in turn.
    if (this.#owned) return this.acquire(this.#heldWait()).then(() => this.#holding(fn, arg));
    this.#owned = true;
    return this.#holding(fn, arg);
  }

  /**
   * `fn` on the connection just taken, then the connection handed on. When `fn` ran at once
   * (every statement did: node:sqlite is synchronous, and nothing waited for a lock), so does
   * the hand-over: a whole transaction of the store's with no turn of the event loop.
   */
  #holding<T, A>(fn: (reservation: SqliteReservation, arg: A) => T | Promise<T>, arg: A): T | Promise<T> {
    const reservation = new SqliteReservation(this);
    let result: T | Promise<T>;
    try {
      result = fn(reservation, arg);
    } catch (error) {
      const ended = this.#endReservation(reservation);
      if (ended) return ended.then(() => Promise.reject(error));
      throw error;
    }
    if (result instanceof Promise) {
      return result.then(
        async (value) => {
          await this.#endReservation(reservation);
          return value;
        },
        async (error: unknown) => {
          await this.#endReservation(reservation);
          throw error;
        },
      );
    }
    const ended = this.#endReservation(reservation);
    return ended ? ended.then(() => result) : result;
  }

  /** Ends a reservation: a transaction left open rolled back, the connection released; a promise only while a step is under way. */
  #endReservation(reservation: SqliteReservation): Promise<void> | undefined {
    reservation.active = false;
    if (this.#tail) return this.#after().then(this.#handOn, this.#handOn);
    this.#handOn();
    return undefined;
  }

  /** The connection handed on after a reservation, with no transaction left open. */
  readonly #handOn = (): void => {
    try {
      // A transaction left open (its ROLLBACK failed) would take in every later statement.
      if (!this.#closed && this.#inTransaction()) this.db.exec('rollback');
    } catch {
      // Nothing more can be done here; the next BEGIN fails and says so.
    } finally {
      this.release();
    }
  };

  async executeQuery(query: CompiledQuery): Promise<QueryResult> {
    const { rows: given, changes } = await this.statement(query.sql, query.parameters);
    // Kysely's and MikroORM's callers get rows of their own (`execute()` hands them on), not the shared frozen none.
    const rows = given === NO_ROWS ? [] : given;
    return changes ? { rows, insertId: BigInt(changes.lastInsertRowid), numAffectedRows: BigInt(changes.changes) } : { rows };
  }

  async *streamQuery(query: CompiledQuery): AsyncIterableIterator<QueryResult> {
    await this.#after();
    await this.#sendBegin();
    // A statement of its own, not the cached one: a statement the loop's body runs meanwhile would reset it.
    const statement = await this.#retrying(query.sql, () => this.db.prepare(query.sql));
    for (const row of statement.iterate(...(query.parameters as SQLInputValue[]))) yield { rows: [row as Record<string, unknown>] };
  }

  /**
   * One statement by the connection's owner: at once when nothing else of the owner's is under
   * way on it (node:sqlite is synchronous), else after that; a statement that meets another
   * connection's lock waits for it asynchronously (see #retrying).
   */
  statement(sql: string, parameters: readonly unknown[], arrays = false, wait: Wait = true): Outcome | Promise<Outcome> {
    if (this.#tail === undefined && this.#pending === undefined) {
      try {
        return this.#execute(sql, parameters, arrays);
      } catch (error) {
        if (wait === false || !isBusy(error)) throw error;
        return this.#serial(() => this.#retrying(sql, () => this.#execute(sql, parameters, arrays), error, timeoutOf(wait, this.settings)));
      }
    }
    return this.#serial(async () => {
      await this.#sendBegin();
      return wait === false
        ? this.#execute(sql, parameters, arrays)
        : this.#retrying(sql, () => this.#execute(sql, parameters, arrays), undefined, timeoutOf(wait, this.settings));
    });
  }

  /**
   * A statement on its own (autocommit), from outside every transaction: it takes the
   * connection as a Kysely user does, so it never runs inside another user's transaction. When
   * nobody holds the connection it runs at once and is over before anyone else can take it.
   */
  autocommit(sql: string, parameters: readonly unknown[], arrays = false, wait: Wait = true): Outcome | Promise<Outcome> {
    if (!this.#owned && this.#tail === undefined && this.#pending === undefined) {
      try {
        return this.#execute(sql, parameters, arrays);
      } catch (error) {
        if (wait === false || !isBusy(error)) throw error;
        this.#owned = true;
        return this.#serial(() => this.#retrying(sql, () => this.#execute(sql, parameters, arrays), error, timeoutOf(wait, this.settings))).finally(() =>
          this.release(),
        );
      }
    }
    return this.acquire(this.#heldWait()).then(async () => {
      try {
        return await this.statement(sql, parameters, arrays, wait);
      } finally {
        this.release();
      }
    });
  }

  begin(mode: 'immediate' | 'deferred'): void {
    this.#pending = mode;
  }

  async end(statement: 'commit' | 'rollback'): Promise<void> {
    await this.#after();
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
    this.#closed = true;
    // Not kept alive by fullauthSqliteHeld()'s cache once closed.
    forgetHeld(this);
    // Closing the database finalises its statements.
    this.#statements.clear();
    this.db.close();
  }

  /** Runs `task` after the owner's asynchronous step under way, if any; the next waits for it in turn. */
  #serial<T>(task: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    const run = previous ? previous.then(task) : task();
    const tail: Promise<unknown> = run.catch(() => undefined);
    this.#tail = tail;
    void tail.then(() => {
      if (this.#tail === tail) this.#tail = undefined;
    });
    return run;
  }

  /** Waits for the owner's asynchronous steps under way. */
  async #after(): Promise<void> {
    while (this.#tail) await this.#tail;
  }

  #prepare(sql: string): Prepared {
    const cached = this.#statements.get(sql);
    if (cached) {
      cached.used = true;
      return cached;
    }
    const prepared = { statement: this.db.prepare(sql), reader: READER.test(sql) || RETURNING.test(sql), used: false };
    if (this.#statements.size >= STATEMENT_CACHE_SIZE) this.#evict();
    this.#statements.set(sql, prepared);
    return prepared;
  }

  /** Drops the oldest statement not used since its last turn; a used one goes to the back, its flag cleared. */
  #evict(): void {
    for (const [sql, prepared] of this.#statements) {
      this.#statements.delete(sql);
      if (!prepared.used) return;
      prepared.used = false;
      this.#statements.set(sql, prepared);
    }
  }

  #execute(sql: string, parameters: readonly unknown[], arrays = false): Outcome {
    const prepared = this.#prepare(sql);
    const { statement, reader } = prepared;
    const values = parameters as SQLInputValue[];
    // Rows as arrays where this node:sqlite can (`setReturnArrays`: recent Node.js 22 releases and
    // later), asked of the statement itself: node:sqlite is not loaded before a connection is
    // opened (loading it prints Node's ExperimentalWarning, in every process that imports us).
    if (reader && arrays && typeof statement.setReturnArrays === 'function') {
      // A statement of its own (the cached one may be Kysely's, which reads objects).
      const byPosition = (prepared.arrays ??= arraysOf(this.db.prepare(sql)));
      return { rows: NO_ROWS, affected: 0, values: allOf(byPosition, values) as unknown as unknown[][] };
    }
    if (reader) return { rows: allOf(statement, values) as Record<string, unknown>[], affected: 0 };
    const changes = runOf(statement, values);
    return { rows: NO_ROWS, affected: Number(changes.changes), changes };
  }

  #inTransaction(): boolean {
    return this.db.isTransaction;
  }

  /**
   * Runs `attempt` (unless the first attempt already failed with `failed`); while it fails with
   * SQLITE_BUSY and may be tried again, tries again after a timer, until `busyTimeout` has
   * passed. A statement may be tried again where SQLite's own busy handler would wait: outside
   * a transaction (the failed statement left nothing behind), BEGIN and COMMIT, any statement
   * of a transaction that holds the write lock (BEGIN IMMEDIATE), and a SELECT. A write in a
   * deferred transaction may be the one SQLite refuses to let wait (it holds a read lock the
   * other writer waits for), and against a newer commit (SQLITE_BUSY_SNAPSHOT) waiting cannot
   * help: the error is thrown at once, and the transaction is to be retried from its start.
   */
  async #retrying<T>(sql: string, attempt: () => T, failed?: unknown, busyTimeout = this.settings.busyTimeout): Promise<T> {
    const started = performance.now();
    for (let tries = 0; ; tries++) {
      let error = failed;
      failed = undefined;
      if (error === undefined) {
        try {
          return attempt();
        } catch (thrown) {
          error = thrown;
        }
      }
      if (!isBusy(error)) throw error;
      const inTransaction = this.#inTransaction();
      const snapshot = (error as { errcode: number }).errcode === SQLITE_BUSY_SNAPSHOT;
      const waitable =
        !inTransaction ||
        COMMIT.test(sql) ||
        (!snapshot && (this.#transaction === 'immediate' || (this.#transaction === 'deferred' && SELECT.test(sql))));
      if (!waitable) throw error;
      const waited = performance.now() - started;
      const { file } = this.settings;
      if (waited >= busyTimeout) throw new FullauthSqliteBusyError(file, busyTimeout, sql, { cause: error, inTransaction });
      const step = BACKOFF_MS[tries] ?? BACKOFF_MS[BACKOFF_MS.length - 1]!;
      await new Promise((resolve) => setTimeout(resolve, Math.min(step, busyTimeout - waited)));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The store's direct path

interface SqlConnectionLike {
  options?: { driverOptions?: unknown };
  config?: { get(key: string): unknown };
  getClient(): object;
}
interface ExecutorOwner {
  getExecutor?(): { provideConnection?(consumer: (connection: unknown) => Promise<unknown>): Promise<unknown> };
}

/**
 * The `transaction` of a session on a connection held for a transaction of the store's own
 * (`fullauthSqliteReserved()`): its statements run on that connection, as long as it is held.
 */
class SqliteReservation {
  active = true;
  constructor(readonly connection: FullauthSqliteConnection) {}

  /** Kysely's `executeQuery()`, for code that sends a compiled query to a session's transaction. */
  async executeQuery(query: CompiledQuery): Promise<QueryResult> {
    if (!this.active) throw new Error('This fullauthSqlite() connection was reserved for a transaction that has ended.');
    return this.connection.executeQuery(query);
  }
}

/** MikroORM connections → whether their dialect is `fullauthSqlite()`'s. */
const OURS = new WeakMap<object, boolean>();
/** Kysely instances (the connection's client, a transaction) → the connection they run on. */
const CONNECTIONS = new WeakMap<object, FullauthSqliteConnection | null>();

/**
 * Internal (executeBound() in orm-compat.ts): one statement of the store's, with its values
 * bound, straight on the node:sqlite connection of a `fullauthSqlite()` dialect, without
 * Kysely's executor on every call (at SQLite's speed, that executor and a new prepare per call
 * cost two thirds of a read). `transaction` is the session's Kysely transaction, if any: the
 * statement joins it (its owner holds the connection); otherwise the statement takes the
 * connection as Kysely's users do, so it is serialised with them and never runs inside a
 * transaction it is not part of. Busy waits, BEGIN IMMEDIATE and the statement cache are the
 * connection's, as on Kysely's path. Returns undefined (synchronously) when the MikroORM
 * connection is not on `fullauthSqlite()`, and a promise of undefined when its Kysely
 * instance does not lead to one of our connections: the caller then takes Kysely's path.
 * With `lookUp` false, also undefined (synchronously) while the connection has not been found
 * yet, instead of looking for it. Driver errors are thrown as node:sqlite's (the caller converts them).
 */
export function fullauthSqliteStatement(
  connection: object,
  transaction: unknown,
  sql: string,
  parameters: readonly unknown[],
  lookUp: false,
  arrays?: boolean,
  wait?: Wait,
): DirectResult | Promise<DirectResult> | undefined;
export function fullauthSqliteStatement(
  connection: object,
  transaction: unknown,
  sql: string,
  parameters: readonly unknown[],
  lookUp?: true,
): DirectResult | Promise<DirectResult | undefined> | undefined;
export function fullauthSqliteStatement(
  connection: object,
  transaction: unknown,
  sql: string,
  parameters: readonly unknown[],
  lookUp = true,
  arrays = false,
  wait: Wait = true,
): DirectResult | Promise<DirectResult | undefined> | undefined {
  // A transaction of the store's own on a connection held directly (checked first: no look-up).
  if (transaction instanceof SqliteReservation) {
    if (!transaction.active) throw new Error('This fullauthSqlite() connection was reserved for a transaction that has ended.');
    return transaction.connection.statement(sql, parameters, arrays, wait);
  }
  let ours = OURS.get(connection);
  if (ours === undefined) ours = isOurs(connection);
  if (!ours) return undefined;
  const kysely = (transaction ?? (connection as SqlConnectionLike).getClient()) as object;
  const known = CONNECTIONS.get(kysely);
  if (known && !known.closed) return direct(known, transaction !== undefined, sql, parameters, arrays, wait);
  // Without `lookUp` (executeSqlite()), a connection not yet found is left to the caller's path, which finds it.
  if (!lookUp) return undefined;
  if (known === null) return Promise.resolve(undefined);
  return connectionOf(kysely).then((found) => {
    CONNECTIONS.set(kysely, found);
    return found && !found.closed ? direct(found, transaction !== undefined, sql, parameters, false, wait) : undefined;
  });
}

/**
 * Internal (onOwnConnection() in orm-compat.ts): runs `fn` with the `fullauthSqlite()`
 * connection held for it alone (a transaction of the store's own, which `fn` begins and ends
 * through `executeBound()`), without a Kysely instance per transaction; serialised with
 * Kysely's users of the connection like a Kysely `connection()`. `fn` gets the session's
 * `transaction`. Undefined when the MikroORM connection is not on `fullauthSqlite()` (or its
 * Kysely instance does not lead to one of our connections): the caller takes Kysely's path.
 */
export function fullauthSqliteReserved<T>(connection: object, fn: (transaction: object) => Promise<T>): Promise<{ result: T } | undefined> | undefined {
  let ours = OURS.get(connection);
  if (ours === undefined) ours = isOurs(connection);
  if (!ours) return undefined;
  const kysely = (connection as SqlConnectionLike).getClient();
  const known = CONNECTIONS.get(kysely);
  const reserve = (found: FullauthSqliteConnection | null): Promise<{ result: T } | undefined> => {
    if (!found || found.closed) return Promise.resolve(undefined);
    try {
      return Promise.resolve(found.reserved(fn, undefined)).then((result) => ({ result }));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  if (known !== undefined) return reserve(known);
  return connectionOf(kysely).then((found) => {
    CONNECTIONS.set(kysely, found);
    return reserve(found);
  });
}

/** What `fullauthSqliteHeld()` gives when it ran nothing (a transaction's result may itself be undefined). */
export const NOT_HELD: unique symbol = Symbol('fullauthSqlite() connection not held');

/**
 * Internal (sqliteOwnTransaction() in src/sqlite/store-statements.ts): `fullauthSqliteReserved()` for a
 * `fullauthSqlite()` connection already found (by an earlier statement or transaction) and
 * open, with `fn`'s own promise (no `{ result }` around it); undefined otherwise, and the
 * caller takes the path that finds it.
 */
export function fullauthSqliteHeld<T, A>(connection: object, fn: (transaction: object, arg: A) => T | Promise<T>, arg: A): T | Promise<T> | typeof NOT_HELD {
  let known: FullauthSqliteConnection | null | undefined;
  if (lastHeld !== undefined && lastHeld.connection === connection && !lastHeld.known.closed) known = lastHeld.known;
  else {
    if (OURS.get(connection) !== true) return NOT_HELD;
    known = CONNECTIONS.get((connection as SqlConnectionLike).getClient());
    if (!known || known.closed) return NOT_HELD;
    lastHeld = { connection, known };
  }
  return known.reserved(fn, arg);
}
/**
 * The MikroORM connection `fullauthSqliteHeld()` last found its connection for, and that
 * connection: a service usually has one ORM, and its transactions then need no look-up (two
 * WeakMap look-ups were a measurable share of a short transaction). Dropped when that connection
 * closes. Held strongly (WeakRef's look-ups cost what the cache saves): an ORM dropped without
 * `close()` stays alive until another ORM's store runs a transaction.
 */
let lastHeld: { connection: object; known: FullauthSqliteConnection } | undefined;
function forgetHeld(connection: FullauthSqliteConnection): void {
  if (lastHeld?.known === connection) lastHeld = undefined;
}

function isOurs(connection: object): boolean {
  const mikro = connection as SqlConnectionLike;
  const ours = (mikro.options?.driverOptions ?? mikro.config?.get('driverOptions')) instanceof FullauthSqliteDialect && typeof mikro.getClient === 'function';
  OURS.set(connection, ours);
  return ours;
}

/**
 * A statement in the caller's transaction (`joined`: it waits for another connection's lock
 * where the connection can safely wait, up to the connection's `busyTimeout`, as the rest of
 * that transaction does) or on its own, waiting as `wait` says.
 */
function direct(
  connection: FullauthSqliteConnection,
  joined: boolean,
  sql: string,
  parameters: readonly unknown[],
  arrays: boolean,
  wait: Wait,
): DirectResult | Promise<DirectResult> {
  return joined ? connection.statement(sql, parameters, arrays) : connection.autocommit(sql, parameters, arrays, wait);
}

/** The connection a Kysely instance runs on (asked once per instance: Kysely hands it to a consumer). */
async function connectionOf(kysely: object): Promise<FullauthSqliteConnection | null> {
  const executor = (kysely as ExecutorOwner).getExecutor?.();
  if (typeof executor?.provideConnection !== 'function') return null;
  const connection = await executor.provideConnection(async (given) => given);
  return connection instanceof FullauthSqliteConnection ? connection : null;
}
