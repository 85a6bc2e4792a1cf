// The store's statements and own transactions on SQLite: straight on a `fullauthSqlite()`
// connection once it is found (no await while nothing waits, node:sqlite being synchronous),
// else through `executeBound()` as on every database. Called by src/store/dialects/sqlite.ts.
import { FullauthConfigError } from '../errors.js';
import { executeBound, type BoundResult, type SqlSession } from '../orm-compat.js';
import { fullauthSqliteHeld, fullauthSqliteStatement } from './dialect.js';

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
 */
export function sqliteStatement(session: SqlSession, sql: string, params: readonly unknown[], arrays = false): BoundResult | Promise<BoundResult> {
  if (session.sqlite === undefined) {
    let direct: BoundResult | Promise<BoundResult> | undefined;
    try {
      direct = fullauthSqliteStatement(session.connection as object, session.transaction, sql, params, false, arrays);
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
 * the transaction to the connection, which rolls it back when released). Undefined (nothing
 * run) otherwise: the caller takes that path.
 */
export function sqliteOwnTransaction<T>(session: SqlSession, begin: string, fn: (session: SqlSession) => Promise<T>): Promise<T> | undefined {
  if (session.sqlite !== undefined) return undefined;
  return fullauthSqliteHeld(session.connection as object, async (transaction) => {
    const own: SqlSession = { ...session, transaction };
    // BEGIN and COMMIT awaited only when they wait (for another connection's lock).
    const begun = sqliteStatement(own, begin, []);
    if (begun instanceof Promise) await begun;
    try {
      const result = await fn(own);
      const committed = sqliteStatement(own, 'commit', []);
      if (committed instanceof Promise) await committed;
      return result;
    } catch (error) {
      await executeSqlite(own, 'rollback', []).catch(() => undefined);
      throw error;
    }
  });
}
