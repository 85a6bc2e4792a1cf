import { existsSync } from 'node:fs';
import type { MikroORM } from '@mikro-orm/core';
import { dialectOf } from './dialects.js';
import { driverOf } from './orm-compat.js';

/** Raised by the read-only CLI commands when the configured database is not there. */
export class FullauthDatabaseMissingError extends Error {
  override name = 'FullauthDatabaseMissingError';
  constructor(readonly database: string) {
    super(
      `database '${database}' does not exist. Nothing was created: check the database name in the config ` +
        `(dbName, clientUrl, DATABASE_URL), or create the database first (npx mikro-orm database:create).`,
    );
  }
}

/** PostgreSQL's `invalid_catalog_name`, MySQL's `ER_BAD_DB_ERROR`. */
const MISSING_DATABASE_CODES: readonly unknown[] = ['3D000', 1049, 'ER_BAD_DB_ERROR'];

/**
 * Fails with {@link FullauthDatabaseMissingError} when the ORM's database does not exist,
 * creating nothing. The ORM must have been loaded with `ensureDatabase` off (`loadCliOrm(…,
 * { readOnly: true })`), or its first connection would create the database it is asked about.
 * - A server database: one `select 1`, whose refusal names a missing database.
 * - SQLite: opening a missing file would create it, so the file is looked for instead.
 */
export async function assertDatabaseExists(orm: MikroORM): Promise<void> {
  const database = String(orm.config.get('dbName') ?? '');
  const platform = driverOf(orm).getPlatform();
  if (dialectOf(platform) === 'sqlite') {
    if (isSqliteFile(database) && !existsSync(database)) throw new FullauthDatabaseMissingError(database);
    return;
  }
  try {
    await (orm.em.getConnection() as unknown as { execute(sql: string): Promise<unknown> }).execute('select 1');
  } catch (error) {
    const helper = platform.getSchemaHelper() as { getDatabaseNotExistsError?(name: string): string } | undefined;
    if (isMissingDatabase(error, helper?.getDatabaseNotExistsError?.(database))) throw new FullauthDatabaseMissingError(database);
    throw error;
  }
}

/** The driver's code where it has one; else the message the platform's schema helper expects for it. */
function isMissingDatabase(error: unknown, expectedMessage: string | undefined): boolean {
  if (!(error instanceof Error)) return false;
  const { code, errno } = error as { code?: unknown; errno?: unknown };
  if (MISSING_DATABASE_CODES.includes(code) || MISSING_DATABASE_CODES.includes(errno)) return true;
  return expectedMessage !== undefined && error.message.includes(expectedMessage);
}

/** An SQLite database that is a file on disk (not `:memory:` nor a `file:` URI, which are left to the driver). */
const isSqliteFile = (name: string): boolean => name !== '' && name !== ':memory:' && !name.startsWith('file:');
