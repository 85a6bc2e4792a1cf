// The store on SQLite (node:sqlite through MikroORM 7's NodeSqliteDialect). SQLite has no row
// locks: one connection writes at a time (the database's write lock), and that is the lock of
// everything here.
// - every transaction of the store's own starts with BEGIN IMMEDIATE, which takes the write
//   lock at once: its reads and writes run as if alone, so a read followed by a write (is the
//   user active? is the token unspent?) cannot interleave with another connection's writes,
//   in this process or any other on the same file;
// - single statements run on their own (autocommit) are atomic: a statement that read an old
//   snapshot cannot write (SQLite refuses it with SQLITE_BUSY), so none writes on stale reads;
// - rotation is one such transaction: the user active?, the compare-and-set UPDATE of
//   `revoked` (its change count elects the one winner), the successor's INSERT;
// - revocations are transactions too: a rotation either committed before (its successor is
//   revoked) or starts after (its compare-and-set fails);
// - while another connection holds the write lock, SQLite answers SQLITE_BUSY ("database is
//   locked"): the store waits and tries again, asynchronously (the event loop keeps running),
//   up to `busyTimeout` (default 5 s, as fastapi-fullauth's SQLite connections wait), then
//   raises `RetryableStoreError`. A busy statement or rolled-back transaction wrote nothing.
// - WAL mode (`pragma journal_mode = wal`, kept in the file) lets reads run beside the writer.
// - orphans: fastapi-fullauth's SQLite connections run with foreign keys off, so its user
//   deletions leave tokens, OAuth accounts and passkeys behind; the store treats them as absent.
// Values as SQLAlchemy stores them: uuids as 32 hex digits, timestamps as UTC text with
// microseconds (`2026-01-01 00:00:00.123000`; compared as text), booleans as 1/0.
import { LockWaitTimeoutException } from '@mikro-orm/core';
import { uuidToHex } from '../../column-types.js';
import { onOwnConnection, transactional, transactionOn, type BoundResult, type SqlSession } from '../../orm-compat.js';
import { executeSqlite, NOT_HELD, sqliteOwnTransaction, sqliteStatement } from '../../sqlite/store-statements.js';
import { onConflictDoNothing, plainEquality, sleep, utcMicros, type ConflictFreeInserts, type Inserted, type MaybePromise, type StoreDialect } from './dialect.js';
import { hexColumns, hexRow, keyHex, revokeUnlisted, sessions, tokenProcedures } from './shared.js';

/** node:sqlite binds no Date or boolean: UTC text with microseconds, and 1/0. */
const bound = (value: unknown): unknown => (value instanceof Date ? utcMicros(value) : typeof value === 'boolean' ? (value ? 1 : 0) : value);
/** The values as node:sqlite binds them: the same array when none needs converting (most statements bind only strings). */
function boundAll(params: readonly unknown[]): readonly unknown[] {
  for (let i = 0; i < params.length; i++) {
    const value = params[i];
    if (value instanceof Date || typeof value === 'boolean') return params.map(bound);
  }
  return params;
}

const isBusy = (error: unknown): boolean =>
  error instanceof LockWaitTimeoutException || (error instanceof Error && /database is locked|SQLITE_BUSY/i.test(error.message));

export interface SqliteStoreOptions {
  /** How long (ms) a write waits for another connection's write lock before `RetryableStoreError`. */
  busyTimeout: number;
}

/** `insertIfAbsent`'s statements, by the insert (see `onConflictDoNothing`). */
const conflictFreeInserts: ConflictFreeInserts<string> = new Map();
const asItIs = (sql: string) => sql;
/**
 * `insertIfAbsent`'s outcome: from the rows its RETURNING gave (as the driver's arrays, in
 * `values`, where the caller asked for arrays), or from its count of rows changed.
 */
const insertedRows = ({ rows, values }: BoundResult): Inserted =>
  values !== undefined ? { inserted: values.length > 0, rows, values } : { inserted: rows.length > 0, rows: rows.map(hexRow) };
const insertedCount = ({ affected, rows }: BoundResult): Inserted => ({ inserted: affected > 0, rows });

export function sqlite({ busyTimeout }: SqliteStoreOptions): StoreDialect {
  /** Runs `attempt` again while the database is locked by another connection, waiting a little longer each time, until `deadline`. */
  async function again<T>(attempt: () => MaybePromise<T>, failed: unknown, deadline: number): Promise<T> {
    let error = failed;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      if (!isBusy(error) || Date.now() >= deadline) throw error;
      await sleep(wait / 2 + Math.random() * wait);
      try {
        return await attempt();
      } catch (thrown) {
        error = thrown;
      }
    }
  }

  /** A transaction of the store's own, BEGIN IMMEDIATE: on a `fullauthSqlite()` connection held directly, else found (or not) by onOwnConnection(). */
  function ownTransaction<T>(session: SqlSession, fn: (session: SqlSession) => MaybePromise<T>): MaybePromise<T> {
    const held = sqliteOwnTransaction(session, 'begin immediate', fn, busyTimeout);
    if (held !== NOT_HELD) return held;
    return onOwnConnection(session, false, (reserved) => transactionOn(reserved, ['begin immediate'], fn)).then((own) =>
      own ? own.result : transactional(session, {}, fn),
    );
  }

  return {
    name: 'sqlite',

    execute(session, sql, params, _text, arrays): BoundResult | Promise<BoundResult> {
      const values = boundAll(params);
      // Inside a transaction a busy statement is the transaction's to handle (the caller's, or ours below).
      if (session.transaction) return sqliteStatement(session, sql, values, arrays);
      // whileBusy(), without its promise when the statement ran at once. The deadline is read
      // when the first attempt has thrown or handed back a promise (it ran synchronously until
      // then, a statement's start), not on every statement that simply ran.
      let result: BoundResult | Promise<BoundResult>;
      try {
        result = sqliteStatement(session, sql, values, arrays);
      } catch (error) {
        return again(() => executeSqlite(session, sql, values), error, Date.now() + busyTimeout);
      }
      if (!(result instanceof Promise)) return result;
      const deadline = Date.now() + busyTimeout;
      return result.catch((error: unknown) => again(() => executeSqlite(session, sql, values), error, deadline));
    },
    transaction<T>(session: SqlSession, fn: (session: SqlSession) => MaybePromise<T>): MaybePromise<T> {
      // The whole transaction is tried again when the write lock was taken (at BEGIN IMMEDIATE,
      // or at COMMIT in rollback-journal mode): it was rolled back and wrote nothing.
      // Tried again while busy (see again()); the first attempt made here, with no closure while nothing is busy.
      let first: MaybePromise<T>;
      try {
        first = ownTransaction(session, fn);
      } catch (error) {
        return again(() => ownTransaction(session, fn), error, Date.now() + busyTimeout);
      }
      if (!(first instanceof Promise)) return first;
      const deadline = Date.now() + busyTimeout;
      return first.catch((error: unknown) => again(() => ownTransaction(session, fn), error, deadline));
    },
    // The write lock taken by BEGIN IMMEDIATE already serialises every change of the map.
    roleMapTransaction: (db, _session, _own, _name, fn) => db.transaction(fn),

    key: keyHex,
    stamp: (date) => utcMicros(date),
    row: hexRow,
    columns: hexColumns,
    // "UNIQUE constraint failed: fullauth_users.email" names the columns, not the index.
    conflictOn: (error, index, table, column) => error.message.includes(`${table}.${column}`) || error.message.includes(index),

    lockShared: '',
    lockExclusive: '',
    lockForRevocation: '',
    insertReturning: true,
    updateReturning: true,
    latestRead: '',
    exactText: plainEquality,
    orphans: true,
    snapshotWrites: false,
    textBytes: undefined,

    // At once when the statement ran at once (assignRole's whole transaction then takes no turn of the event loop).
    insertIfAbsent(db, em, insert, params, conflict, returning, options) {
      const sql = onConflictDoNothing(conflictFreeInserts, insert, conflict, returning, asItIs);
      const result = db.result(sql, params, em, options?.arrays);
      return result instanceof Promise ? result.then(returning ? insertedRows : insertedCount) : returning ? insertedRows(result) : insertedCount(result);
    },

    ...tokenProcedures(''),

    sessions,

    purgeBatch: (db, { tokens }, before, batch) =>
      db.affected(`delete from ${tokens} where "id" in (select "id" from ${tokens} where "expires_at" < ? limit ?)`, [before, batch]),

    revokeUnlisted: (db, em, grants, permissions, roleKey, keep) => revokeUnlisted(db, em, grants, permissions, roleKey, keep, uuidToHex),
  };
}

export type { SqlSession };
