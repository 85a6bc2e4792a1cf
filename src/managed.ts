import type { MikroORM } from '@mikro-orm/core';
import { definitionOf } from './build-schema.js';
import { FullauthConfigError, showValue } from './errors.js';
import { FULLAUTH_GROUPS, type FullauthGroup } from './groups.js';
import { POSTGRESQL_MIGRATIONS } from './managed/postgresql.js';
import { renderTemplate } from './managed/template.js';
import { DEFAULT_MIGRATIONS_TABLE, assertTrackingTable } from './naming.js';
import type { ResolvedFullauth } from './options.js';
import { readOptions, rejectUnknownKeys, type ReadOptions } from './read-options.js';

/**
 * A versioned migration of the fullauth tables, shipped in this package. Its SQL uses
 * template names (`__fa__users`, …) that are rendered with the host's naming and schema.
 */
export interface FullauthManagedMigration {
  /** `<version>_<group>`, e.g. `0001_base`: the order is version, then group order. */
  readonly name: string;
  readonly group: FullauthGroup;
  readonly up: readonly string[];
}

/** Every option may be left out or set to `null`: both mean "the default". */
export interface FullauthMigratorOptions {
  /**
   * The tracking table of this stream. Default `fullauth_migrations` (in the fullauth schema, if one is set).
   * A lower-case SQL identifier of at most 63 characters, not the name of a fullauth table.
   * With another name, pass the same to `fullauthSchemaHooks({ migrationsTable })` so the host's diff leaves it alone.
   */
  tableName?: string | null;
  /** The migrations to run: the package's own by default (tests pass a later version's). */
  migrations?: readonly FullauthManagedMigration[] | null;
}

export interface FullauthMigrator {
  /** Applies the pending migrations of the included groups, each in its own transaction; returns their names. */
  up(): Promise<string[]>;
  /**
   * The applied and pending migrations. Read-only: it creates no table, schema or database
   * (a tracking table that does not exist yet means nothing was applied).
   */
  status(): Promise<{ executed: string[]; pending: string[] }>;
}

/** The part of an SQL EntityManager (`@mikro-orm/sql` on MikroORM 7, `@mikro-orm/knex` on 6) the stream uses. */
interface SqlEntityManager {
  execute<T = unknown>(sql: string): Promise<T>;
  transactional<T>(fn: (em: SqlEntityManager) => Promise<T>): Promise<T>;
}

const DIALECTS: Record<string, readonly FullauthManagedMigration[]> = { PostgreSqlDriver: POSTGRESQL_MIGRATIONS };

/**
 * Managed mode: the fullauth tables get their own migration stream with its own tracking
 * table, independent of the host's migrations. Pair it with
 * `fullauthSchemaHooks({ excludeFromDiff: true })` so the host's diff leaves those tables alone.
 */
export function fullauthMigrator(orm: MikroORM, given?: FullauthMigratorOptions | null): FullauthMigrator {
  // The options first: a bad table name fails before the ORM is asked anything.
  const options = readMigratorOptions(given);
  if (typeof orm !== 'object' || orm === null || typeof orm.getMetadata !== 'function') {
    throw new FullauthConfigError(`fullauthMigrator() needs a MikroORM instance, got ${showValue(orm)}.`);
  }
  const driverName = orm.config.getDriver().constructor.name;
  const shipped = DIALECTS[driverName];
  if (!shipped && !options.migrations) {
    throw new FullauthConfigError(
      `Managed fullauth migrations are shipped for PostgreSQL only (PostgreSqlDriver); this ORM uses ${driverName}. ` +
        `Use the host's Migrator with fullauthMigrations() there instead.`,
    );
  }
  const definition = [...orm.getMetadata()].map((meta) => definitionOf(meta.class)).find(Boolean);
  if (!definition) throw new FullauthConfigError('fullauthMigrator(): this ORM has no fullauth entities.');
  assertManageable(definition);
  const migrations = options.migrations ?? shipped!;
  const schema = definition.schema;
  const tableName = options.tableName ?? DEFAULT_MIGRATIONS_TABLE;
  assertTrackingTable(tableName, 'tableName', definition.naming);
  const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;
  const tracking = `${schema ? `${quote(schema)}.` : ''}${quote(tableName)}`;
  const wanted = migrations
    .filter((m) => definition.groups.includes(m.group))
    .toSorted((a, b) => version(a).localeCompare(version(b)) || FULLAUTH_GROUPS.indexOf(a.group) - FULLAUTH_GROUPS.indexOf(b.group));

  const fork = () => orm.em.fork() as unknown as SqlEntityManager;
  // One runner at a time, across processes: the lock is held until the transaction ends.
  const lock = (em: SqlEntityManager) => em.execute(`select pg_advisory_xact_lock(hashtext(${literal(tracking)}))`);
  const ensureTracking = () =>
    fork().transactional(async (em: SqlEntityManager) => {
      await lock(em);
      if (schema) await em.execute(`create schema if not exists ${quote(schema)}`);
      await em.execute(`create table if not exists ${tracking} ("name" varchar(255) not null primary key, "executed_at" timestamptz not null)`);
    });
  const trackingExists = async (): Promise<boolean> => {
    const [row] = await fork().execute<{ present: boolean }[]>(`select to_regclass(${literal(tracking)}) is not null as "present"`);
    return row?.present === true;
  };
  const executed = async (): Promise<string[]> => {
    const rows = await fork().execute<{ name: string }[]>(`select "name" from ${tracking} order by "name"`);
    return rows.map((r) => r.name);
  };

  return {
    async status() {
      // Read-only: no tracking table yet means nothing was applied.
      const done = (await trackingExists()) ? await executed() : [];
      return { executed: done, pending: wanted.map((m) => m.name).filter((n) => !done.includes(n)) };
    },
    async up() {
      await ensureTracking();
      const applied: string[] = [];
      for (const migration of wanted) {
        const ran = await fork().transactional(async (em: SqlEntityManager) => {
          await lock(em);
          const [row] = await em.execute<{ n: number }[]>(`select count(*)::int as n from ${tracking} where "name" = ${literal(migration.name)}`);
          if (row && row.n > 0) return false;
          for (const statement of migration.up) await em.execute(renderTemplate(statement, definition.naming, schema));
          await em.execute(`insert into ${tracking} ("name", "executed_at") values (${literal(migration.name)}, now())`);
          return true;
        });
        if (ran) applied.push(migration.name);
      }
      return applied;
    },
  };
}

const MIGRATOR_KEYS = ['tableName', 'migrations'] as const;

function readMigratorOptions(given: FullauthMigratorOptions | null | undefined): ReadOptions<FullauthMigratorOptions> {
  const options = readOptions(given, 'fullauthMigrator() options');
  rejectUnknownKeys(options, MIGRATOR_KEYS, 'fullauthMigrator option');
  if (options.tableName !== undefined) assertTrackingTable(options.tableName, 'tableName');
  if (options.migrations !== undefined && !Array.isArray(options.migrations)) {
    throw new FullauthConfigError(`migrations must be an array of FullauthManagedMigration, got ${showValue(options.migrations)}.`);
  }
  return options;
}

/** The config is one managed mode does not cover (bigint ids, performanceIndexes, user.properties): the host's Migrator migrates its tables. */
export class ManagedModeNotCoveredError extends FullauthConfigError {
  override name = 'ManagedModeNotCoveredError';
}

const version = (m: FullauthManagedMigration) => m.name.split('_')[0]!;
const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

function assertManageable(definition: ResolvedFullauth): void {
  if (definition.idStrategy === 'bigint') {
    throw new ManagedModeNotCoveredError(
      "Managed fullauth migrations create uuid keys; idStrategy 'bigint' is not covered. Use the host's Migrator with fullauthMigrations() instead.",
    );
  }
  if (definition.performanceIndexes) {
    throw new ManagedModeNotCoveredError(
      "Managed fullauth migrations create the contract's indexes only; performanceIndexes needs the host's Migrator (fullauthMigrations()).",
    );
  }
  if (Object.keys(definition.user.properties).length > 0) {
    throw new ManagedModeNotCoveredError(
      'Managed fullauth migrations cover the fullauth columns only; a user extended with user.properties needs the host\'s Migrator (fullauthMigrations()).',
    );
  }
}
