import type { MetadataStorage, MikroORM, Platform } from '@mikro-orm/core';
import { buildEntitySchemas, definitionOf } from './build-schema.js';
import { dialectOf } from './dialects.js';
import { FullauthConfigError, listLines } from './errors.js';
import { FullauthDestructiveChangeError, findDestructiveStatements, splitStatements, type GuardedTables } from './guard.js';
import { DEFAULT_MIGRATIONS_TABLE, assertTrackingTable, createNaming } from './naming.js';
import type { ResolvedFullauth } from './options.js';
import { afterDiscovery, discoverOffline, driverOf, registerSchemaGenerator, setSchemaTables } from './orm-compat.js';
import { assertOptionalBoolean, readOptions, rejectUnknownKeys, type ReadOptions } from './read-options.js';
import { FULLAUTH_ENTITY_NAMES } from './spec.js';
import { addSqliteInlineUniques, queryRows, type TableLike as SqliteTable } from './sqlite-constraints.js';
import { installSqliteFastapiDdl, type SqliteSchemaHelperLike } from './sqlite/ddl.js';

/** Every option may be left out or set to `null`: both mean "the default". */
export interface FullauthSchemaHooksOptions {
  /**
   * Keep every fullauth table out of the host's schema diff (`schema:update`,
   * `migration:create`): for managed mode, where the fullauth migration stream owns them.
   */
  excludeFromDiff?: boolean | null;
  /** Let the diff drop the tables of a group that is no longer included. Default: never. */
  dropRemovedGroups?: boolean | null;
  /** Let the diff drop or narrow fullauth tables and columns. Default: refused, naming each statement. */
  allowDestructive?: boolean | null;
  /** The managed stream's tracking table, never part of the host's diff. Default `fullauth_migrations`. */
  migrationsTable?: string | null;
}

/** The hooks, as a MikroORM extension: `extensions: [Migrator, fullauthSchemaHooks()]`. */
export interface FullauthSchemaHooks {
  readonly name: string;
  readonly options: Readonly<FullauthSchemaHooksOptions>;
  register(orm: MikroORM): void;
}

const HOOKS_NAME = 'FullauthSchemaHooks';
const VALID_KEYS = ['excludeFromDiff', 'dropRemovedGroups', 'allowDestructive', 'migrationsTable'];
const BOOLEAN_KEYS = ['excludeFromDiff', 'dropRemovedGroups', 'allowDestructive'] as const;

/**
 * Schema generator hooks that keep the host's diff safe around the fullauth tables:
 * - removing a group never drops its tables (unless `dropRemovedGroups`);
 * - a diff that would drop or narrow a fullauth table or column is refused (unless `allowDestructive`);
 * - `excludeFromDiff` keeps the fullauth tables out of the host's diff entirely.
 * At discovery it also checks that the fullauth entities still have every property the auth
 * tables rely on, unchanged.
 */
export function fullauthSchemaHooks(given?: FullauthSchemaHooksOptions | null): FullauthSchemaHooks {
  const options = readHooksOptions(given);
  return {
    name: HOOKS_NAME,
    options: Object.freeze({ ...options }),
    register(orm: MikroORM) {
      installDiscoveryCheck(orm, options);
      installGuardedSchemaGenerator(orm, options);
    },
  };
}

type HooksOptions = ReadOptions<FullauthSchemaHooksOptions>;

/** Validated at once, so that a bad option fails where the config is written, not at the first diff. */
function readHooksOptions(given: FullauthSchemaHooksOptions | null | undefined): HooksOptions {
  const options = readOptions(given, 'fullauthSchemaHooks() options');
  rejectUnknownKeys(options, VALID_KEYS, 'fullauthSchemaHooks option');
  for (const key of BOOLEAN_KEYS) assertOptionalBoolean(options[key], key);
  if (options.migrationsTable !== undefined) assertTrackingTable(options.migrationsTable, 'migrationsTable');
  return options;
}

/** The hooks a config registered, if any (the migration generator falls back to a default guard without them). */
export function registeredHooks(extensions: readonly unknown[]): FullauthSchemaHooks | undefined {
  return extensions.find(
    (e): e is FullauthSchemaHooks => typeof e === 'object' && e !== null && (e as FullauthSchemaHooks).name === HOOKS_NAME,
  );
}

/** At discovery (MikroORM 7), or at once where the extension is registered after it (MikroORM 6). */
function installDiscoveryCheck(orm: MikroORM, hooks: HooksOptions): void {
  afterDiscovery(orm, (storage) => {
    checkDiscoveredEntities(orm, storage);
    checkTrackingTableName(storage, hooks.migrationsTable);
  });
}

/** A `migrationsTable` that is one of this ORM's fullauth tables would hide that table from the diff. */
function checkTrackingTableName(storage: MetadataStorage, migrationsTable: string | undefined): void {
  if (migrationsTable === undefined) return;
  const definition = [...storage].map((meta) => definitionOf(meta.class)).find(Boolean);
  if (definition) assertTrackingTable(migrationsTable, 'migrationsTable', definition.naming);
}

/**
 * Compares every discovered fullauth entity with a fresh, untouched build of the same
 * definition: a property the auth tables rely on that was removed or changed (by a host
 * class, an `onMetadata` hook, …) fails discovery with an error naming it.
 */
export function checkDiscoveredEntities(orm: MikroORM, storage: MetadataStorage): void {
  const metas = [...storage].filter((meta) => definitionOf(meta.class));
  const definition = metas.map((meta) => definitionOf(meta.class)).find(Boolean);
  if (!definition) return;
  const expected = discoverOffline({
    driver: orm.config.getDriver().constructor as never,
    dbName: 'fullauth_expected',
    entities: [...buildEntitySchemas(definition).values()],
    debug: false,
  }).getMetadata();
  const problems: string[] = [];
  for (const want of expected) {
    const have = metas.find((meta) => meta.className === want.className);
    if (!have) continue;
    for (const wanted of want.props) {
      const prop = have.properties[wanted.name as keyof typeof have.properties];
      const where = `${want.className}.${wanted.name}`;
      if (!prop) {
        problems.push(`${where} was removed`);
        continue;
      }
      for (const key of ['kind', 'fieldNames', 'columnTypes', 'nullable', 'primary', 'length'] as const) {
        const a = JSON.stringify(prop[key] ?? null);
        const b = JSON.stringify(wanted[key] ?? null);
        if (a !== b) problems.push(`${where}: ${key} is ${a}, the auth tables need ${b}`);
      }
    }
    const contractColumns = new Set(want.props.flatMap((p) => p.fieldNames ?? []));
    for (const prop of have.props) {
      if (want.properties[prop.name as keyof typeof want.properties]) continue;
      const clash = (prop.fieldNames ?? []).filter((f) => contractColumns.has(f));
      if (clash.length) problems.push(`${have.className}.${prop.name} uses the column ${clash.join(', ')} of the auth tables`);
    }
  }
  if (problems.length > 0) {
    throw new FullauthConfigError(`The fullauth entities were changed in a way the auth tables cannot work with:\n${listLines(problems)}`);
  }
}

/** Every table name a fullauth definition in this ORM uses or would use for any group, plus the contract's. */
export function knownFullauthTables(metadata: MetadataStorage, migrationsTable = DEFAULT_MIGRATIONS_TABLE): { names: Set<string> } {
  const definitions = new Set<ResolvedFullauth>();
  for (const meta of metadata) {
    const definition = definitionOf(meta.class);
    if (definition) definitions.add(definition);
  }
  const names = new Set<string>([migrationsTable]);
  const namings = [createNaming(), ...[...definitions].map((d) => d.naming)];
  for (const naming of namings) for (const entity of FULLAUTH_ENTITY_NAMES) names.add(naming.table(entity));
  return { names };
}

/** The part of a `DatabaseSchema` (of `@mikro-orm/sql` or, on MikroORM 6, `@mikro-orm/knex`) we use. */
interface SchemaTable extends SqliteTable {
  name: string;
  schema?: string;
  getShortestName(): string;
  getColumn(name: string): { type: string; length?: number | null } | undefined;
}
interface DatabaseSchema {
  getTables(): SchemaTable[];
  hasTable(name: string): boolean;
}
type Comparison = { fromSchema: DatabaseSchema; toSchema: DatabaseSchema };
type UpdateOptions = object;
type MigrationOptions = object;
/** The part of MikroORM's SqlSchemaGenerator we build on (`prepareSchemaForComparison` is private in its typings). */
interface SchemaGeneratorBase {
  readonly metadata: MetadataStorage;
  prepareSchemaForComparison(options: unknown): Promise<Comparison>;
  isTableSkipped(tableName: string, schemaName?: string): boolean;
  getUpdateSchemaSQL(options?: UpdateOptions): Promise<string>;
  getUpdateSchemaMigrationSQL(options?: MigrationOptions): Promise<{ up: string; down: string }>;
}
type SchemaGeneratorClass = new (em: MikroORM['em']) => SchemaGeneratorBase;

function installGuardedSchemaGenerator(orm: MikroORM, hooks: HooksOptions): void {
  const driver = driverOf(orm);
  const platform = driver.getPlatform() as Platform & {
    getSchemaGenerator?: (driver: unknown, em?: unknown) => object;
  };
  if (typeof platform.getSchemaGenerator !== 'function') {
    throw new FullauthConfigError('fullauthSchemaHooks() needs an SQL driver (PostgreSQL, MySQL, MariaDB, SQLite).');
  }
  const Base = platform.getSchemaGenerator(driver).constructor as SchemaGeneratorClass;
  if (dialectOf(platform) === 'sqlite') {
    // The DDL fastapi-fullauth's SQLAlchemy writes and reads back (see sqlite/ddl.ts).
    const helper = (platform as unknown as { getSchemaHelper(): SqliteSchemaHelperLike }).getSchemaHelper();
    installSqliteFastapiDdl(helper, (table) => knownFullauthTables(driver.getMetadata() as MetadataStorage, hooks.migrationsTable).names.has(table));
  }

  class FullauthGuardedSchemaGenerator extends Base {
    #lastFrom: DatabaseSchema | undefined;
    #known: Set<string> | undefined;

    // The metadata is fixed once discovered: derive the fullauth table names once, not per
    // table check (isTableSkipped runs for every entity of every diff).
    get #knownTables(): Set<string> {
      return (this.#known ??= knownFullauthTables(this.metadata, hooks.migrationsTable).names);
    }

    // Which entities the generator creates (schema:create, initial migrations): with
    // excludeFromDiff, none of the fullauth tables.
    override isTableSkipped(tableName: string, schemaName?: string): boolean {
      if (hooks.excludeFromDiff && this.#knownTables.has(tableName)) return true;
      return super.isTableSkipped(tableName, schemaName);
    }

    // MikroORM's own step before every update and migration diff.
    override async prepareSchemaForComparison(options: unknown): Promise<Comparison> {
      const comparison = await super.prepareSchemaForComparison(options);
      const known = this.#knownTables;
      const isFullauth = (name: string) => known.has(name);
      const { fromSchema, toSchema } = comparison;
      if (dialectOf(platform) === 'sqlite') await addSqliteInlineUniques(fromSchema, known, queryRows(orm));
      // The managed stream's tracking table is never the host's business.
      const tracking = hooks.migrationsTable ?? DEFAULT_MIGRATIONS_TABLE;
      setSchemaTables(fromSchema, fromSchema.getTables().filter((t) => t.name !== tracking));
      if (hooks.excludeFromDiff) {
        setSchemaTables(fromSchema, fromSchema.getTables().filter((t) => !isFullauth(t.name)));
        setSchemaTables(toSchema, toSchema.getTables().filter((t) => !isFullauth(t.name)));
      } else if (!hooks.dropRemovedGroups) {
        // A fullauth table the metadata no longer has is a removed group's: leave it alone.
        setSchemaTables(fromSchema, fromSchema.getTables().filter((t) => !isFullauth(t.name) || toSchema.hasTable(t.getShortestName())));
      }
      this.#lastFrom = fromSchema;
      return comparison;
    }

    override async getUpdateSchemaSQL(options?: UpdateOptions): Promise<string> {
      const sql = await super.getUpdateSchemaSQL(options);
      this.#guard(sql);
      return sql;
    }

    override async getUpdateSchemaMigrationSQL(options?: MigrationOptions) {
      const diff = await super.getUpdateSchemaMigrationSQL(options);
      this.#guard(diff.up);
      return diff;
    }

    #guard(sql: string): void {
      if (hooks.allowDestructive || hooks.excludeFromDiff) return;
      const known = this.#knownTables;
      const current = new Set([...this.metadata].filter((meta) => definitionOf(meta.class)).map((meta) => meta.tableName));
      const from = this.#lastFrom;
      const tables: GuardedTables = {
        // With dropRemovedGroups, the tables of groups no longer included may go.
        isFullauth: (table) => known.has(table) && (!hooks.dropRemovedGroups || current.has(table)),
        currentColumn: (table, schema, column) =>
          from?.getTables().find((t) => t.name === table && (!schema || t.schema === schema))?.getColumn(column),
      };
      const destructive = findDestructiveStatements(splitStatements(sql), tables);
      if (destructive.length > 0) throw new FullauthDestructiveChangeError(destructive);
    }
  }

  registerSchemaGenerator(orm, () => new FullauthGuardedSchemaGenerator(orm.em));
}
