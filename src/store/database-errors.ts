// Database failures as the store's typed errors. MikroORM's exception converter has already
// turned the driver's error into a typed exception (by SQLSTATE on PostgreSQL).
import {
  DeadlockException,
  DriverException,
  ForeignKeyConstraintViolationException,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { ConflictError, FullauthStoreError, NotFoundError, RetryableStoreError } from './errors.js';

/** Whether a unique-key error is about the named index (PostgreSQL reports it as `constraint`). */
export function conflictOn(error: ConflictError, index: string): boolean {
  const cause = error.cause as { constraint?: string } | undefined;
  return cause?.constraint === index || error.message.includes(`"${index}"`);
}

/**
 * Every failure of the store is a `FullauthStoreError`: a unique key → `ConflictError` (the
 * operations turn it into a precise one), a missing referenced row → `NotFoundError`, a
 * deadlock or serialization failure → `RetryableStoreError`, anything else (a lost
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
  // invalid_text_representation: a value of the wrong type (arguments are checked before this).
  if (error instanceof DriverException && error.code === '22P02') {
    return new FullauthStoreError(`A value has the wrong type for its column (${message}).`, { cause: error });
  }
  return new FullauthStoreError(`The database refused a fullauth store operation: ${message}`, { cause: error });
}

