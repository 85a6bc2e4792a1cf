// Database failures as the store's typed errors. MikroORM's exception converter has already
// turned the driver's error into a typed exception (by SQLSTATE on PostgreSQL).
import {
  DeadlockException,
  DriverException,
  ForeignKeyConstraintViolationException,
  LockWaitTimeoutException,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { ConflictError, FullauthStoreError, NotFoundError, RetryableStoreError } from './errors.js';


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
  return new FullauthStoreError(`The database refused a fullauth store operation: ${message}`, { cause: error });
}

