// The store's statements and own transactions on SQLite: straight on a `fullauthSqlite()`
// connection once it is found (no await while nothing waits, node:sqlite being synchronous),
// else through `executeBound()` as on every database. Called by src/store/dialects/sqlite.ts.
import { FullauthConfigError } from '../errors.js';
import { executeBound, type BoundResult, type SqlSession } from '../orm-compat.js';
import { fullauthSqliteHeld, fullauthSqliteStatement, NOT_HELD } from './dialect.js';

export { NOT_HELD };

/** The values of BEGIN, COMMIT and ROLLBACK: none (one array for all). */
const NO_VALUES: readonly unknown[] = Object.freeze([]);

/**
 * SQLite: `executeBound()` for a statement of the store's. On a `fullauthSqlite()` connection
 * already found (by an earlier statement), the statement goes straight to it, with no await on
 * the way (`ensureConnection()`, the look-up): the same statement, the same connection, the
 * same errors (converted as `executeBound()` converts them). Otherwise `executeBound()`.
 */
export function executeSqlite(session: SqlSession, sql: string, params: readonly unknown[]): Promise<BoundResult> {
  try {
    const result = sqliteStatement(session, sql, params);
    return result instanceof Promise ? result : Promise.resolve(result);
  } catch (error) {
    return Promise.reject(error);
  }
}

/**
 * `executeSqlite()`, with the result itself when the statement ran at once (node:sqlite is
 * synchronous): no promise while nothing waits. Errors are thrown (or rejected) converted.
 * `arrays`: a reader's rows as arrays where the direct path can give them (`DirectResult.values`).
 * `wait`: on its own or in the store's own transaction, a lock another connection holds is
 * thrown at once (the store waits by its own `busyTimeout` and tries again), or waited for up
 * to `wait` ms; in the caller's transaction the connection waits as it does for the rest of it.
 */
export function sqliteStatement(session: SqlSession, sql: string, params: readonly unknown[], arrays = false, wait: number | false = false): BoundResult | Promise<BoundResult> {
  if (session.sqlite === undefined) {
    let direct: BoundResult | Promise<BoundResult> | undefined;
    try {
      direct = fullauthSqliteStatement(session.connection as object, session.transaction, sql, params, false, arrays, wait);
    } catch (error) {
      throw driverFailure(session, error);
    }
    if (direct !== undefined) {
      return direct instanceof Promise
        ? direct.catch((error: unknown) => {
            throw driverFailure(session, error);
          })
        : direct;
    }
  }
  return executeBound(session, sql, params, false);
}

/** A driver's error as `executeBound()` throws it: MikroORM's typed exception (our configuration errors as they are). */
function driverFailure(session: SqlSession, error: unknown): unknown {
  return error instanceof FullauthConfigError ? error : session.platform.getExceptionConverter().convertException(error as Error);
}

/**
 * SQLite: `transactionOn(onOwnConnection(…), [begin], fn)` on a `fullauthSqlite()` connection
 * already found, without their look-ups and awaits: the connection held for the transaction
 * alone, `begin`, `fn`, COMMIT, or ROLLBACK when anything fails (a ROLLBACK that fails leaves
 * the transaction to the connection, which rolls it back when released). `NOT_HELD` (nothing
 * run) otherwise: the caller takes that path. When every statement ran at once (no other
 * connection's lock waited for) and `fn` gave its result itself, so does this: the whole
 * transaction without a turn of the event loop, as a caller of node:sqlite itself would run it.
 * A failure is then thrown, not rejected.
 */
export function sqliteOwnTransaction<T>(
  session: SqlSession,
  begin: string,
  fn: (session: SqlSession) => T | Promise<T>,
  commitWait: number,
): T | Promise<T> | typeof NOT_HELD {
  if (session.sqlite !== undefined) return NOT_HELD;
  // Its parts as an argument, not a closure (one fewer function made and first called per transaction).
  return fullauthSqliteHeld(session.connection as object, heldTransaction<T>, { session, begin, fn, commitWait });
}

/** A transaction of the store's own, as `sqliteOwnTransaction()` asks for it. */
interface OwnTransaction<T> {
  session: SqlSession;
  begin: string;
  fn: (session: SqlSession) => T | Promise<T>;
  commitWait: number;
}

/** `sqliteOwnTransaction()` on the connection held for it (`transaction`, its reservation). */
function heldTransaction<T>(transaction: object, { session, begin, fn, commitWait }: OwnTransaction<T>): T | Promise<T> {
  // Built field by field (not spread): one object shape, on every transaction.
  const own: SqlSession = { connection: session.connection, transaction, platform: session.platform };
  // A busy BEGIN is thrown at once: the caller tries the whole transaction again, the
  // connection free meanwhile.
  const begun = sqliteStatement(own, begin, NO_VALUES);
  return begun instanceof Promise ? begun.then(() => inTransaction(own, fn, commitWait)) : inTransaction(own, fn, commitWait);
}

/** `fn`, then COMMIT; ROLLBACK (awaited) and the error when either fails. */
function inTransaction<T>(own: SqlSession, fn: (session: SqlSession) => T | Promise<T>, commitWait: number): T | Promise<T> {
  let result: T | Promise<T>;
  try {
    result = fn(own);
  } catch (error) {
    return rolledBack(own, error);
  }
  if (result instanceof Promise) return result.then((value) => committed(own, value, commitWait), (error: unknown) => rolledBack(own, error));
  return committed(own, result, commitWait);
}

function committed<T>(own: SqlSession, value: T, commitWait: number): T | Promise<T> {
  let commit: BoundResult | Promise<BoundResult>;
  try {
    // A busy COMMIT (rollback-journal mode: readers hold the file) waits, keeping its claim on
    // the lock so that new readers cannot keep it from ever committing.
    commit = sqliteStatement(own, 'commit', NO_VALUES, false, commitWait);
  } catch (error) {
    return rolledBack(own, error);
  }
  return commit instanceof Promise ? commit.then(() => value, (error: unknown) => rolledBack(own, error)) : value;
}

function rolledBack(own: SqlSession, error: unknown): Promise<never> {
  return executeSqlite(own, 'rollback', NO_VALUES).then(
    () => Promise.reject(error),
    () => Promise.reject(error),
  );
}
