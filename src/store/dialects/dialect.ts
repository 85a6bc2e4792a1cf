// What the store needs from a database, and nothing more: one module per database implements
// it (postgresql.ts, mysql.ts, sqlite.ts). The store (../store.ts) writes its plain statements
// once, in standard SQL with identifiers in double quotes; what cannot be written once — how a
// statement is sent, how values are stored, how a transaction starts, and the statements whose
// safety rests on a database's own locking (issuing, rotating, purging, the role-map lock) —
// lives in the dialect module. Adding a database is adding a file and a line in index.ts.
import type { FullauthDialect } from '../../dialects.js';
import type { BoundResult, SqlSession } from '../../orm-compat.js';
import type { Columns } from '../rows.js';

export type Row = Record<string, unknown>;
/** A value, or the promise of it: the value itself where the work ran at once (node:sqlite is synchronous). */
export type MaybePromise<T> = T | Promise<T>;
/** Where statements run: the pool, the caller's transaction, or one of the store's own. */
export type Context = SqlSession;

/**
 * A statement built once (per store, with its tables' names) instead of on every call: its
 * text with `?` marks, and the text sent to the database (`StoreDialect.prepare`), so
 * no call rebuilds, renumbers or looks up its SQL.
 */
export interface Statement {
  readonly sql: string;
  readonly text: string;
}

/** What `StoreDialect.insertIfAbsent` did: whether it inserted, and the rows it returned. */
export interface Inserted {
  inserted: boolean;
  rows: Row[];
  /**
   * The returned rows instead as arrays of the `returning` columns, as the driver gave them
   * (not converted: read with `columns`), where asked for and given (`rows` is then empty).
   */
  values?: unknown[][];
}

/** A read of the row an insert would collide with (see `StoreDialect.insertIfAbsent`). */
export interface Probe {
  readonly sql: string | Statement;
  readonly params: readonly unknown[];
}

/** What a caller of `StoreDialect.insertIfAbsent` may add. */
export interface InsertOptions {
  /**
   * A locking read of the row in the way. A dialect on which a refused insert costs more than
   * a read (MySQL: a duplicate key is an error, and an error is costly) runs it first and
   * returns its rows, with `inserted: false`, when it finds one.
   */
  readonly existing?: Probe;
  /**
   * The returned rows may come as `values`, arrays of the `returning` columns straight from
   * the driver (see `StoreDialect.execute`); a dialect may ignore it.
   */
  readonly arrays?: boolean;
}

/** How the store runs statements: values bound, rows converted by the dialect, failures as store errors. */
export interface Db {
  rows(sql: string | Statement, params: readonly unknown[], em?: Context): Promise<Row[]>;
  affected(sql: string | Statement, params: readonly unknown[], em?: Context): Promise<number>;
  /**
   * The driver's result of one statement, its rows not converted: the result itself where the
   * statement ran at once (node:sqlite), so that a call whose statements all run at once takes
   * no turn of the event loop. Failures are store errors, thrown or rejected. With `arrays`,
   * the rows may come as `values`, arrays of the select list as the driver gave them
   * (node:sqlite: one shape for every row, where its row objects are dictionaries), `rows`
   * then empty; a dialect whose driver gives objects leaves `values` undefined.
   */
  result(sql: string | Statement, params: readonly unknown[], em?: Context, arrays?: boolean): MaybePromise<BoundResult>;
  /** The caller's transaction when the store's EntityManager is in one, else a new one of the store's. */
  transaction<T>(fn: (em: Context) => MaybePromise<T>): Promise<T>;
}

/** `fn` of the value: at once when the value is there, else when its promise resolves (a failure of `fn` then thrown, not rejected). */
export function andThen<V, T>(value: MaybePromise<V>, fn: (value: V) => MaybePromise<T>): MaybePromise<T> {
  return value instanceof Promise ? value.then(fn) : fn(value);
}

/** The quoted names of the tables a procedure touches. */
export interface TokenTables {
  users: string;
  tokens: string;
}

/** A refresh-token row to insert (values already in the database's form, see `StoreDialect.key`/`stamp`). */
export interface TokenValues {
  /** The new row's id (canonical), or undefined when the database makes it. */
  id: string | undefined;
  /** `"id", ` and `?, ` with its value, or empty when the database makes the id. */
  idColumn: string;
  idValue: string;
  idParams: unknown[];
  digest: string;
  expiresAt: unknown;
  userAgent: string | null;
  ipAddress: string | null;
  createdAt: unknown;
}

export interface StoreDialect {
  readonly name: FullauthDialect;

  // ---- how statements reach the database --------------------------------------------------

  /**
   * One statement, its values bound (`?` placeholders); outside a transaction on the pool.
   * `text`: the statement as `prepare` made it, when the caller built it once (a `Statement`).
   * The result itself where the statement ran at once (node:sqlite is synchronous); a failure
   * may then be thrown rather than rejected. `arrays`: a reader's rows may come as arrays
   * (`values` of the result: node:sqlite on `fullauthSqlite()`, `pg` on MikroORM's pool); a
   * dialect may ignore it.
   */
  execute(session: SqlSession, sql: string, params: readonly unknown[], text?: string, arrays?: boolean): BoundResult | Promise<BoundResult>;
  /** The text a statement is sent as (PostgreSQL: `$1, $2, …` for `?`), made once per `Statement`; none where it is the SQL itself. */
  readonly prepare?: (sql: string) => string;
  /**
   * A transaction of the store's own: committed when `fn` resolves, rolled back when it throws.
   * Each database starts it so that a read followed by a write in it cannot interleave with a
   * concurrent writer in a way the store did not plan for (see each module). Where `fn` and
   * every statement ran at once, a dialect may give the result itself (and throw a failure).
   */
  transaction<T>(session: SqlSession, fn: (session: SqlSession) => MaybePromise<T>): MaybePromise<T>;
  /**
   * A transaction in which the role/permission map (roles, permissions, grants) changes, one
   * such transaction at a time across every process: `ownTransaction` is false inside the
   * caller's transaction.
   */
  roleMapTransaction<T>(db: Db, session: SqlSession, ownTransaction: boolean, lockName: string, fn: (em: Context) => Promise<T>): Promise<T>;

  // ---- values --------------------------------------------------------------------------------

  /** A uuid key (canonical, hyphenated) as its column stores it. */
  key(id: string): unknown;
  /** A timestamp to write, as its column stores it. (Dates compared in a WHERE are bound as they are.) */
  stamp(date: Date): unknown;
  /** A row read: keys, booleans and timestamps as JavaScript values (canonical uuids, booleans, Dates); none where the driver's values are those already. */
  readonly row?: (row: Row) => Row;
  /** The same conversions one value at a time, for the store's row → record mappers that read a driver's row directly (`row` not applied). */
  readonly columns: Columns;
  /** Whether a unique-key error is about this index (`column` of `table`, unquoted). */
  conflictOn(error: { message: string; cause?: unknown }, index: string, table: string, column: string): boolean;

  // ---- statements ----------------------------------------------------------------------------

  /** The locking clause of a read that takes rows shared / exclusively until the transaction ends ('' where the transaction itself is exclusive). */
  readonly lockShared: string;
  readonly lockExclusive: string;
  /** The exclusive lock a revocation takes on the user's row (PostgreSQL: one that still lets rows referencing it be inserted). */
  readonly lockForRevocation: string;
  /** Whether `insert … returning` and `update … returning` exist. */
  readonly insertReturning: boolean;
  readonly updateReturning: boolean;
  /**
   * Appended to a plain read that must see rows committed after the transaction's snapshot
   * (MySQL's REPEATABLE READ reads a snapshot unless the read locks), or ''.
   */
  readonly latestRead: string;
  /**
   * How a lookup by an identity's text (e-mail, OAuth provider and id, passkey credential id)
   * compares it: exactly, character for character, on every database. MySQL's and MariaDB's
   * `=` follows the column's collation, which by default ignores case and accents (MySQL's
   * also takes ß for ss): there `email = 'ann@exämple.com'` finds ann@example.com.
   */
  readonly exactText: ExactText;
  /**
   * Whether rows whose user is gone (orphans) can exist: on SQLite, fastapi-fullauth's
   * connections run with foreign keys off, so its user deletions cascade nowhere. The store
   * treats orphans as absent everywhere; where one is in the way of a new row, it is deleted.
   */
  readonly orphans: boolean;
  /**
   * Whether a caller's transaction above READ COMMITTED writes through a snapshot: its UPDATE
   * never sees a row another transaction inserted after the snapshot (PostgreSQL). A
   * revocation there could leave a token issued meanwhile live, so the store refuses it. InnoDB
   * updates the newest rows at every level, and SQLite runs one writer at a time.
   */
  readonly snapshotWrites: boolean;
  /** The bytes (UTF-8) a `text` column holds, where it is limited (MySQL/MariaDB: TEXT, 65,535). */
  readonly textBytes: number | undefined;

  /**
   * `insert` (a complete `insert into t (…) values (…)` statement) unless a row with the same
   * `conflict` columns exists. Returns the rows of `returning` (a column list, or '') when it inserted,
   * or the affected count as `inserted`; see `InsertOptions` for the rest.
   */
  insertIfAbsent(
    db: Db,
    em: Context | undefined,
    insert: string,
    params: readonly unknown[],
    conflict: string,
    returning: string,
    options?: InsertOptions,
  ): MaybePromise<Inserted>;

  /**
   * A token of a new login, or of a session being continued (`em`: inside the store's
   * transaction, which already holds the user's row): inserted only while the user exists and
   * is active, with the user's row held shared. Returns the new row's id, or null when nothing
   * was inserted.
   */
  issueToken(db: Db, t: TokenTables, userKey: unknown, family: string, v: TokenValues, em?: Context): Promise<string | null>;

  /**
   * Rotation: spends the token (compare-and-set `revoked` false → true, only unexpired, only
   * while its user is active, with the user's row held shared) and inserts its successor, both
   * or neither. Returns the successor's id when this caller won, else null.
   */
  spendAndIssue(db: Db, t: TokenTables, userKey: unknown, digest: string, cutoff: Date, v: TokenValues): Promise<string | null>;

  /**
   * The statement of the user's live sessions (see `FullauthStore.listSessions`), newest first:
   * family_id, started_at, last_used_at, and expires_at, user_agent, ip_address of the newest
   * live token, in this order (the store reads them by position where the driver gives arrays),
   * and its values for a user and a time.
   */
  readonly sessions: {
    statement(t: TokenTables): string;
    params(userKey: unknown, now: Date): unknown[];
  };

  /** Deletes up to `batch` tokens that expired before `before`, passing over rows another transaction holds. */
  purgeBatch(db: Db, t: TokenTables, before: Date, batch: number): Promise<number>;

  /** Removes a role's grants of permissions not in `keep`; returns the removed permissions' names. */
  revokeUnlisted(db: Db, em: Context, grants: string, permissions: string, roleKey: unknown, keep: readonly string[]): Promise<string[]>;
}

/** An exact comparison of a text column with one value (`StoreDialect.exactText`). */
export interface ExactText {
  /** The condition on `column` (quoted, qualified where needed). */
  sql(column: string): string;
  /** The values it binds for `value`, in order. */
  values(value: string): string[];
}

/** `column = ?`: exact where the database compares text as it is (PostgreSQL's and SQLite's default collations). */
export const plainEquality: ExactText = {
  sql: (column) => `${column} = ?`,
  values: (value) => [value],
};

/** Statements made by `onConflictDoNothing()`, by their insert. */
export type ConflictFreeInserts<S> = Map<string, { conflict: string; returning: string; made: S }[]>;

/**
 * `insert … on conflict <conflict> do nothing [returning …]` (PostgreSQL's and SQLite's
 * `insertIfAbsent`), made once (`make` of its SQL) per insert and clauses. Looked up by the
 * insert, the store's own text and the same string on every call, so a call builds no string
 * and hashes none.
 */
export function onConflictDoNothing<S>(cache: ConflictFreeInserts<S>, insert: string, conflict: string, returning: string, make: (sql: string) => S): S {
  let known = cache.get(insert);
  if (known === undefined) {
    // The store's inserts are a small fixed set; the cap only guards memory.
    if (cache.size >= 512) cache.clear();
    cache.set(insert, (known = []));
  }
  for (const entry of known) if (entry.conflict === conflict && entry.returning === returning) return entry.made;
  const made = make(`${insert} on conflict ${conflict} do nothing${returning ? ` returning ${returning}` : ''}`);
  known.push({ conflict, returning, made });
  return made;
}

const pad = (value: number, length = 2) => String(value).padStart(length, '0');

/** `YYYY-MM-DD HH:MM:SS` in UTC. */
export function utcSeconds(date: Date): string {
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
    `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`
  );
}

/** `YYYY-MM-DD HH:MM:SS.ffffff` in UTC (the text SQLAlchemy writes; milliseconds and three zeros from a Date). */
export function utcMicros(date: Date): string {
  return `${utcSeconds(date)}.${String(date.getUTCMilliseconds()).padStart(3, '0')}000`;
}

/** The columns of the fullauth tables (and the store's aliases) that hold keys, booleans and timestamps. */
export const KEY_COLUMNS = new Set(['id', 'user_id', 'role_id', 'permission_id']);
export const BOOLEAN_COLUMNS = new Set(['is_active', 'is_verified', 'is_superuser', 'revoked', 'backed_up', 'ok', 'found']);
export const DATE_COLUMNS = new Set(['created_at', 'expires_at', 'last_used_at', 'started_at']);

/**
 * A list of values for `in (…)` / `not in (…)`, padded to the next power of two with its last
 * value (which changes no answer), so that lists of any length make few statement texts: MySQL
 * keeps each text as a prepared statement per connection, within a server-wide limit
 * (`max_prepared_stmt_count`).
 */
export function padded<T>(values: readonly T[]): T[] {
  if (values.length < 2) return [...values];
  const size = 2 ** Math.ceil(Math.log2(values.length));
  return [...values, ...Array.from({ length: size - values.length }, () => values[values.length - 1]!)];
}
export const marks = (values: readonly unknown[]): string => values.map(() => '?').join(', ');

/** Waits `ms` without blocking the event loop. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
