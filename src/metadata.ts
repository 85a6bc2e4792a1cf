import type { Constructor, EntityMetadata, IDatabaseDriver, MetadataStorage } from '@mikro-orm/core';
import { buildEntitySchemas } from './build-schema.js';
import { FullauthConfigError, showValue } from './errors.js';
import type { FullauthGroup } from './groups.js';
import { type FullauthOptions, resolveFullauth } from './options.js';
import { readOptions } from './read-options.js';
import { discoverOffline, metadataStorageOf } from './orm-compat.js';
import { FULLAUTH_ENTITY_NAMES } from './spec.js';

export interface FullauthMetadataOptions extends FullauthOptions {
  /** Model groups, as for `defineFullauthEntities()`; omitted (or `null`) means every group. */
  include?: readonly FullauthGroup[] | null;
  /**
   * The driver whose platform shapes the metadata (column types). Defaults to
   * `PostgreSqlDriver` from `@mikro-orm/postgresql`. No connection is ever opened.
   */
  driver?: Constructor<IDatabaseDriver> | null;
}

/**
 * The storage `getFullauthMetadata()` returns. `getByClassName()` is spelled out because
 * MikroORM 6's `MetadataStorage` type lacks it (the returned storage has it on 6 and 7).
 */
export type FullauthMetadataStorage = MetadataStorage & {
  getByClassName(className: string, validate?: true): EntityMetadata;
};

/** A MikroORM instance, as far as this helper needs one. */
export interface MetadataSource {
  getMetadata(): MetadataStorage;
}

/**
 * A `MetadataStorage` holding only the fullauth entities.
 *
 * - With no argument (or `null`) or `{ include, driver }`, the entities are discovered
 *   offline: no database connection is opened. An option left out or `null` takes its default.
 * - Given a MikroORM instance, returns the fullauth subset of that ORM's metadata, as the
 *   host configured it; host entities are left out.
 *
 * Table and column names are the final ones (`meta.tableName`, `prop.fieldNames`).
 */
export async function getFullauthMetadata(source?: MetadataSource | FullauthMetadataOptions | null): Promise<FullauthMetadataStorage> {
  if (isMetadataSource(source)) return fullauthSubset(source.getMetadata());
  const { include, driver: chosenDriver, ...options } = readOptions(source, 'getFullauthMetadata() options');
  const definition = resolveFullauth(include, options);
  if (chosenDriver !== undefined && typeof chosenDriver !== 'function') {
    throw new FullauthConfigError(`driver must be a MikroORM driver class (e.g. PostgreSqlDriver), got ${showValue(chosenDriver)}.`);
  }
  const driver = chosenDriver ?? (await defaultDriver());
  // Discovered synchronously; no connection is opened.
  const orm = discoverOffline({
    driver,
    dbName: 'fullauth_offline',
    entities: [...buildEntitySchemas(definition).values()],
    discovery: { warnWhenNoEntities: false },
    debug: false,
  });
  return fullauthSubset(orm.getMetadata());
}

const FULLAUTH_NAMES: ReadonlySet<string> = new Set(FULLAUTH_ENTITY_NAMES);

/** The same metadata objects, not copies: they are the ORM's, as the host configured them. */
function fullauthSubset(storage: MetadataStorage): FullauthMetadataStorage {
  return metadataStorageOf([...storage].filter((meta) => FULLAUTH_NAMES.has(meta.className))) as FullauthMetadataStorage;
}

function isMetadataSource(value: unknown): value is MetadataSource {
  return typeof value === 'object' && value !== null && typeof (value as MetadataSource).getMetadata === 'function';
}

async function defaultDriver(): Promise<Constructor<IDatabaseDriver>> {
  try {
    const { PostgreSqlDriver } = await import('@mikro-orm/postgresql');
    return PostgreSqlDriver;
  } catch (error) {
    throw new FullauthConfigError(
      'getFullauthMetadata() defaults to the PostgreSQL platform, but @mikro-orm/postgresql could not be loaded. ' +
        'Install it, or pass another driver: getFullauthMetadata({ driver: MySqlDriver }).',
      { cause: error },
    );
  }
}
