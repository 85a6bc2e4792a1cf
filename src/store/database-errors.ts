// Database failures as the store's typed errors. MikroORM's exception converter has already
// turned the driver's error into a typed exception (by SQLSTATE on PostgreSQL).
import {
  DeadlockException,
  DriverException,
  ForeignKeyConstraintViolationException,
  LockWaitTimeoutException,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { ConflictError, FullauthStoreError, NotFoundError, RetryableStoreError, UnstorableTextError } from './errors.js';

/**
 * Every failure of the store is a `FullauthStoreError`: a unique key → `ConflictError` (the
 * operations turn it into a precise one), a missing referenced row → `NotFoundError`, a
 * deadlock, serialization failure or lock wait timeout → `RetryableStoreError`, anything else (a lost
 * connection, …) → `FullauthStoreError` with the database error as its `cause`.
 */
export function storeError(error: unknown): FullauthStoreError {
  if (error instanceof FullauthStoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UniqueConstraintViolationException) return new ConflictError(message, { cause: error });
  if (error instanceof ForeignKeyConstraintViolationException) {
    return new NotFoundError(`A record this operation refers to does not exist (${message}).`, { cause: error });
  }
  if (error instanceof DeadlockException) {
    return new RetryableStoreError(`The database aborted the operation to resolve a conflict with a concurrent one; nothing was written, retry it (${message}).`, { cause: error });
  }
  // MySQL's lock wait timeout (1205, the statement is undone) and SQLite's "database is
  // locked" after the store's busyTimeout (a busy statement or transaction wrote nothing).
  if (error instanceof LockWaitTimeoutException) {
    return new RetryableStoreError(
      `A lock held by a concurrent operation was not released in time; the operation did not happen, retry it (inside a transaction of yours, roll that back first: MySQL undoes only the statement that waited) (${message}).`,
      { cause: error },
    );
  }
  // invalid_text_representation: a value of the wrong type (arguments are checked before this).
  if (error instanceof DriverException && error.code === '22P02') {
    return new FullauthStoreError(`A value has the wrong type for its column (${message}).`, { cause: error });
  }
  if (error instanceof DriverException && unstorableText(error)) {
    return new UnstorableTextError(
      `A text holds characters that its column's character set cannot hold, so no row can have it; nothing was written (${message}). ` +
        'This package creates its tables in utf8mb4 (MySQL/MariaDB) and needs a UTF8 database (PostgreSQL); a MySQL/MariaDB table made otherwise can be converted: ' +
        'ALTER TABLE <table> CONVERT TO CHARACTER SET utf8mb4.',
      { cause: error },
    );
  }
  return new FullauthStoreError(`The database refused a fullauth store operation: ${message}`, { cause: error });
}


/**
 * A text its column's character set cannot hold. MySQL/MariaDB compared with it: 1267, 1270,
 * 1271 (an illegal mix of collations: MariaDB), 3988 (an impossible conversion of a bound
 * value: MySQL), 3854 (of a value written into the statement, as MikroORM 6's knex sends it:
 * MySQL); wrote it: 1366 with "Incorrect string value". PostgreSQL: 22P05 (untranslatable_character).
 */
function unstorableText(error: DriverException): boolean {
  if (error.code === '22P05') return true;
  const errno = Number(error.errno);
  return errno === 1267 || errno === 1270 || errno === 1271 || errno === 3988 || errno === 3854 || (errno === 1366 && /incorrect string value/i.test(error.message));
}
