// Every difference between MikroORM 6.6 and MikroORM 7 that this package meets, in one place.
// Each helper finds out what the installed MikroORM can do (feature detection) instead of
// parsing version strings, so the other modules read the same on both.
//
// Internal: nothing here is exported from src/index.ts, and no type of @mikro-orm/sql or
// @mikro-orm/knex appears in a signature (the public .d.ts must not depend on either).
import { createRequire } from 'node:module';
import { MetadataStorage, MikroORM } from '@mikro-orm/core';
import type { EntityMetadata, IDatabaseDriver, Platform } from '@mikro-orm/core';
import { fullauthSqliteReserved, fullauthSqliteStatement } from './sqlite/dialect.js';
import { FullauthConfigError } from './errors.js';

/** What `new MikroORM()` takes (`Options`, as each version types it). */
type OrmOptions = ConstructorParameters<typeof MikroORM>[0];

/**
 * This module's `require`, for optional peers loaded only when needed, in both builds of the
 * package. dist/ (ES modules) makes it from `import.meta.url`. dist/cjs/ (CommonJS) is compiled
 * from this same text by tsc (`tsconfig.build.cjs.json`), where `import.meta` would be a syntax
 * error: the `build` script of package.json replaces `import.meta.url` there with the CommonJS
 * module's own file URL (`require("node:url").pathToFileURL(__filename).href`), and fails if
 * any `import.meta` is left. So `import.meta` appears in src/ only here and in src/cli.ts (which
 * is not compiled to CommonJS: the `bin` is dist/cli.js).
 */
export const requireHere: NodeJS.Require = createRequire(import.meta.url);

const SCHEMA_GENERATOR_EXTENSION = '@mikro-orm/schema-generator';
const MIGRATOR_EXTENSION = '@mikro-orm/migrator';

// ---------------------------------------------------------------------------------------------
// Discovery

/** MikroORM 6 has `MikroORM.initSync()`; MikroORM 7 discovers in the synchronous constructor. */
const initSync = (MikroORM as unknown as { initSync?: (options: OrmOptions) => MikroORM }).initSync;

/** The installed MikroORM is 6.x (told by what it has: `MikroORM.initSync()`). */
export const MIKRO_ORM_6 = typeof initSync === 'function';

/**
 * A MikroORM instance whose metadata is discovered and which has not connected (nor will,
 * unless asked to query). MikroORM 7: the constructor discovers synchronously. MikroORM 6: its
 * constructor does not discover, `MikroORM.initSync()` does (and connects lazily).
 */
export function discoverOffline(options: OrmOptions): MikroORM {
  if (!MIKRO_ORM_6) return new MikroORM(options) as MikroORM;
  // Not initSync(): it also reads .env and MIKRO_ORM_* variables over the options, which
  // would let the host's environment change (or break) a discovery of our entities alone.
  const orm = new MikroORM(options) as MikroORM & { discoverEntitiesSync(): void };
  orm.discoverEntitiesSync();
  return orm;
}

/**
 * Runs `check` on the discovered metadata of an ORM whose extensions are being registered.
 * MikroORM 7 registers extensions before discovery: the check joins `discovery.afterDiscovered`.
 * MikroORM 6 registers them after discovery (and after connecting): the metadata is there, so
 * the check runs at once; on failure the ORM it made is closed before the error propagates.
 */
export function afterDiscovery(orm: MikroORM, check: (storage: MetadataStorage) => void): void {
  const discovered = (orm as { getMetadata(): MetadataStorage | undefined }).getMetadata();
  if (discovered) {
    try {
      check(discovered);
    } catch (error) {
      void orm.close(true).catch(() => undefined);
      throw error;
    }
    return;
  }
  const discovery = orm.config.get('discovery');
  const previous = discovery.afterDiscovered;
  orm.config.set('discovery', {
    ...discovery,
    afterDiscovered: (storage: MetadataStorage, platform: Platform) => {
      const result = previous?.(storage, platform);
      if (result instanceof Promise) return result.then(() => check(storage));
      check(storage);
    },
  });
}

// ---------------------------------------------------------------------------------------------
// Metadata storage

/** MikroORM 7 keys a storage by entity class and looks entities up by class name; MikroORM 6 keys it by class name. */
const keyedByClass = typeof (MetadataStorage.prototype as { getByClassName?: unknown }).getByClassName === 'function';

/**
 * A new storage holding the given metadata objects (the same objects, not copies), which
 * answers `getByClassName()` on both versions (MikroORM 6 storages have no such method).
 */
export function metadataStorageOf(metas: Iterable<EntityMetadata>): MetadataStorage {
  const storage = new MetadataStorage();
  for (const meta of metas) {
    (storage as unknown as { set(key: unknown, meta: EntityMetadata): void }).set(keyedByClass ? meta.class : meta.className, meta);
  }
  if (!keyedByClass) {
    Object.defineProperty(storage, 'getByClassName', {
      value: (className: string, validate = true) => metadataByClassName(storage, className, validate),
    });
  }
  return storage;
}

/** `storage.getByClassName(name, validate)` on both versions. */
export function metadataByClassName(storage: MetadataStorage, className: string, validate = false): EntityMetadata | undefined {
  if (keyedByClass) return (storage as unknown as { getByClassName(name: string, validate: boolean): EntityMetadata | undefined }).getByClassName(className, validate);
  // MikroORM 6: the storage is keyed by class name.
  const meta = (storage as unknown as { find(name: string): EntityMetadata | undefined }).find(className);
  if (!meta && validate) throw new Error(`Metadata for entity ${className} not found`);
  return meta;
}

// ---------------------------------------------------------------------------------------------
// Driver

/** The ORM's driver (`orm.driver` is private in MikroORM 6's typings; this is the same instance). */
export function driverOf(orm: { config: { getDriver(): IDatabaseDriver } }): IDatabaseDriver {
  return orm.config.getDriver();
}

// ---------------------------------------------------------------------------------------------
// Schema generator

/**
 * Makes `factory` the ORM's schema generator (`orm.schema`, the CLI's schema commands, the
 * Migrator's diff).
 * - MikroORM 6 may already hold a generator made before the extensions were registered (it
 *   connects, and checks the database, first): that cached instance is dropped.
 * - MikroORM 6's Migrator makes its own plain `SqlSchemaGenerator`: it is handed the registered
 *   one whenever the Migrator is fetched. MikroORM 7's Migrator asks for the registered one itself.
 */
export function registerSchemaGenerator(orm: MikroORM, factory: () => object): void {
  const config = orm.config as unknown as {
    registerExtension(name: string, factory: () => unknown): void;
    getExtension(name: string): unknown;
    cache?: unknown;
    extensions?: unknown;
  };
  config.registerExtension(SCHEMA_GENERATOR_EXTENSION, factory);
  if (config.cache instanceof Map) config.cache.delete(SCHEMA_GENERATOR_EXTENSION);
  if (MIKRO_ORM_6) registerMigratorIfMissing(orm, config);

  const getExtension = config.getExtension;
  if ((getExtension as { fullauthPatched?: true }).fullauthPatched) return;
  const patched = function (this: unknown, name: string): unknown {
    const extension = getExtension.call(config, name);
    if (name === MIGRATOR_EXTENSION && isObject(extension) && Object.hasOwn(extension, 'schemaGenerator')) {
      const generator = getExtension.call(config, SCHEMA_GENERATOR_EXTENSION);
      if (generator && extension.schemaGenerator !== generator) extension.schemaGenerator = generator;
    }
    return extension;
  };
  config.getExtension = Object.assign(patched, { fullauthPatched: true as const });
}

/**
 * MikroORM 6 also runs without `Migrator` in `extensions`: it then builds one on first use,
 * outside the registered extensions, with a plain schema generator. Registering it here (when
 * @mikro-orm/migrations is installed) keeps that Migrator on the guarded generator too.
 */
function registerMigratorIfMissing(orm: MikroORM, config: { extensions?: unknown }): void {
  if (config.extensions instanceof Map && config.extensions.has(MIGRATOR_EXTENSION)) return;
  let migrations: { Migrator?: { register?(orm: MikroORM): void } };
  try {
    migrations = requireHere('@mikro-orm/migrations') as typeof migrations;
  } catch {
    return; // no Migrator to guard
  }
  migrations.Migrator?.register?.(orm);
}

/**
 * Replaces the tables of a `DatabaseSchema` (MikroORM 7: `setTables()`; MikroORM 6 has none,
 * and `getTables()` returns its own array, which is filled in place).
 */
export function setSchemaTables<T>(schema: { getTables(): T[] }, tables: T[]): void {
  const set = (schema as { setTables?: (tables: T[]) => void }).setTables;
  if (typeof set === 'function') {
    set.call(schema, tables);
    return;
  }
  const own = schema.getTables();
  own.splice(0, own.length, ...tables);
}

/** The SQL layer's `SchemaComparator` as far as we use it. */
export interface SchemaComparatorLike {
  compare(from: unknown, to: unknown): unknown;
}

/** What this package takes from the SQL layer at run time: `@mikro-orm/sql` (7) or `@mikro-orm/knex` (6). */
export interface SqlLayer {
  SchemaComparator: new (platform: never) => SchemaComparatorLike;
}

/**
 * The SQL layer: `@mikro-orm/sql` on MikroORM 7, `@mikro-orm/knex` on MikroORM 6 (each is a
 * dependency of every SQL driver of its version, and an optional peer of this package).
 */
export async function loadSqlLayer(): Promise<SqlLayer> {
  const errors: unknown[] = [];
  // The installed version's own layer first: a monorepo may also hoist the other one.
  const layers = MIKRO_ORM_6 ? ['@mikro-orm/knex', '@mikro-orm/sql'] : ['@mikro-orm/sql', '@mikro-orm/knex'];
  for (const name of layers) {
    try {
      return (await import(/* @vite-ignore */ name)) as SqlLayer;
    } catch (error) {
      errors.push(error);
    }
  }
  throw new Error('Neither @mikro-orm/sql (MikroORM 7) nor @mikro-orm/knex (MikroORM 6) could be loaded.', { cause: errors[0] });
}

// ---------------------------------------------------------------------------------------------
// Migrator

/** `migrator.create()` (MikroORM 7) or `migrator.createMigration()` (MikroORM 6). */
export function createMigration(
  migrator: object,
  path?: string,
  blank = false,
  initial = false,
): Promise<{ fileName: string; code: string; diff: { up: string[]; down: string[] } }> {
  const m = migrator as Record<string, unknown>;
  const create = (typeof m.create === 'function' ? m.create : m.createMigration) as (...args: unknown[]) => Promise<never>;
  return create.call(migrator, path, blank, initial);
}

// ---------------------------------------------------------------------------------------------
// CLI

interface CliSettings {
  preferTs?: boolean;
  useTsNode?: boolean;
  tsConfigPath?: string;
  tsLoader?: string;
}

interface CliHelperLike {
  getSettings?(): CliSettings;
  registerTypeScriptSupport?(tsConfigPath?: string, tsLoader?: string): Promise<boolean>;
  getORM(contextName?: string, configPaths?: string[], options?: object): Promise<MikroORM>;
}

/**
 * The host's ORM, from its config found the way its own `mikro-orm` CLI finds it, with the
 * TypeScript support that CLI sets up.
 * - MikroORM 7: `CLIHelper.getSettings()`, then `registerTypeScriptSupport()` (tsx, swc, jiti, …)
 *   unless `preferTs: false`.
 * - MikroORM 6: `ConfigurationLoader.getSettings()`, then ts-node unless `useTsNode: false`;
 *   without ts-node, TypeScript configs need `alwaysAllowTs` and a loader such as
 *   `NODE_OPTIONS=--import=tsx` (see docs/getting-started.md).
 *
 * `readOnly`: the ORM never creates the database (nor ensures indexes) when it connects.
 * MikroORM's default `ensureDatabase: true` creates a missing database on the first
 * connection (MikroORM 7: lazily, on the first query; MikroORM 6: in `connect()`, which its
 * `CLIHelper.getORM()` already skips with `connect: false`), so it is turned off in the
 * options and again on the loaded config (where `preferEnvVars` would let a
 * `MIKRO_ORM_ENSURE_DATABASE` variable win over the options).
 */
export async function loadCliOrm(configPath: string | undefined, { readOnly = false } = {}): Promise<MikroORM> {
  const { CLIHelper } = (await import('@mikro-orm/cli')) as unknown as { CLIHelper: CliHelperLike };
  if (typeof CLIHelper.getSettings === 'function' && typeof CLIHelper.registerTypeScriptSupport === 'function') {
    const settings = CLIHelper.getSettings();
    if (settings.preferTs !== false) await CLIHelper.registerTypeScriptSupport(settings.tsConfigPath, settings.tsLoader);
  } else {
    const { ConfigurationLoader } = (await import('@mikro-orm/core')) as unknown as {
      ConfigurationLoader: { getSettings(): CliSettings; registerTsNode(tsConfigPath?: string): boolean };
    };
    const settings = ConfigurationLoader.getSettings();
    // As MikroORM 6's own CLI does it (CLIConfigurator.configure()).
    if (settings.useTsNode !== false && !ConfigurationLoader.registerTsNode(settings.tsConfigPath)) {
      process.env.MIKRO_ORM_CLI_USE_TS_NODE ??= '0';
    }
  }
  const noWrites = readOnly ? { ensureDatabase: false, ensureIndexes: false, ...(MIKRO_ORM_6 ? { connect: false } : {}) } : {};
  const orm = await CLIHelper.getORM(undefined, configPath ? [configPath] : undefined, { debug: false, ...noWrites });
  for (const [key, value] of Object.entries(noWrites)) (orm.config as unknown as { set(key: string, value: unknown): void }).set(key, value);
  return orm;
}

/**
 * `migrate` creates a missing database as MikroORM's own `migration:up` does, when the config
 * lets it (`ensureDatabase`, on by default). MikroORM 7 does so on the first connection;
 * MikroORM 6's `CLIHelper.getORM()` does not connect (`connect: false`), so it is asked here.
 */
export async function ensureCliDatabase(orm: MikroORM): Promise<void> {
  if (!MIKRO_ORM_6 || !orm.config.get('ensureDatabase')) return;
  await (orm as unknown as { schema: { ensureDatabase(): Promise<boolean> } }).schema.ensureDatabase();
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

// ---------------------------------------------------------------------------------------------
// Statements with bound parameters

/** What a statement sent through `executeBound()` gave back. */
export interface BoundResult {
  rows: Record<string, unknown>[];
  /** Rows inserted, updated or deleted (0 for a plain select). */
  affected: number;
  /** The rows as arrays instead, in the order of the select list, where asked for and given (`fullauthSqlite()`, `pg`'s pool; `rows` is then empty). */
  values?: unknown[][];
}

interface KyselyLike {
  executeQuery(query: object): Promise<{ rows?: Record<string, unknown>[]; numAffectedRows?: bigint | number }>;
}
interface KnexLike {
  raw(sql: string, bindings: readonly unknown[]): { transacting(trx: unknown): unknown } & PromiseLike<unknown>;
  client?: KnexClientLike;
}
/** knex's client: its pool, and which driver it speaks to. */
interface KnexClientLike {
  /** 'sqlite3' for every SQLite client (sqlite3, better-sqlite3, libsql). */
  dialect?: string;
  driverName?: string;
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): unknown;
}
/**
 * A connection of MikroORM 6's libSQL driver: libsql's `Database` (better-sqlite3's API,
 * synchronous). Only what the store calls.
 */
interface SqliteHandle {
  exec(sql: string): void;
  prepare(sql: string): {
    /** Whether the statement returns rows (a SELECT, or a write with RETURNING): SQLite's own answer. */
    readonly reader: boolean;
    all(params: readonly unknown[]): Record<string, unknown>[];
    run(params: readonly unknown[]): { changes?: number | bigint };
  };
  /** knex drops a pooled connection marked so instead of handing it out again. */
  __knex__disposed?: unknown;
}
interface SqlConnectionLike {
  ensureConnection(): Promise<void>;
  getClient?(): KyselyLike;
  getKnex?(): KnexLike;
  getNativeClient?(): Promise<unknown>;
  transactional<T>(fn: (transaction: unknown) => Promise<T>): Promise<T>;
  config?: { get(key: string): unknown };
  options?: { onReserveConnection?: unknown };
}

/** Where a statement runs: a connection's pool, or one of its open transactions. */
export interface SqlSession {
  connection: unknown;
  /** The open transaction (MikroORM 7: a Kysely transaction; 6: a knex one), or none for the pool. */
  transaction: unknown;
  platform: Platform;
  /** A `pg` client of MikroORM's own pool holding a transaction of the store's (see `nativePool`). */
  native?: PgClient;
  /** A `mysql2` connection of MikroORM's own pool reserved for the store (see `nativeMysqlPool`). */
  mysql?: MysqlConnection;
  /** MikroORM 6 on SQLite (libSQL): a connection of knex's pool reserved for a transaction of the store's (see `onOwnConnection`). */
  sqlite?: SqliteHandle;
}

interface PgResult {
  rows: Record<string, unknown>[];
  rowCount: number | null;
  command?: string;
}
/** `pg`'s query config: rows as arrays of the select list with `rowMode: 'array'`. */
interface PgQuery {
  text: string;
  values: readonly unknown[];
  rowMode: 'array';
}
interface PgQueryable {
  query(text: string, values?: readonly unknown[]): Promise<PgResult>;
  query(config: PgQuery): Promise<{ rows: unknown[][]; rowCount: number | null; command?: string }>;
}
interface PgClient extends PgQueryable {
  release(error?: Error | boolean): void;
}
interface PgPool extends PgQueryable {
  connect(): Promise<PgClient>;
  totalCount: number;
}

/**
 * MikroORM 7's PostgreSQL connection keeps its `pg` pool (its type parsers included) behind a
 * Kysely dialect. Statements outside a caller's transaction go to that pool directly: the same
 * connections and row parsing, without Kysely's executor on every call (it costs a busy
 * service a tenth of its throughput). Not when a host hook runs on every connection
 * reservation (`onReserveConnection`, `sessionContext: 'connection'`), which only Kysely runs,
 * and not for a Kysely instance or dialect of the host's own (PGlite), whose pool is not ours.
 */
async function nativePool(connection: SqlConnectionLike): Promise<PgPool | undefined> {
  let pool = NATIVE_POOLS.get(connection);
  if (pool === undefined) {
    pool = findNativePool(connection).then((found) => {
      FOUND_POOLS.set(connection, found ?? null);
      return found;
    });
    NATIVE_POOLS.set(connection, pool);
  }
  return pool;
}
const NATIVE_POOLS = new WeakMap<object, Promise<PgPool | undefined>>();
/** `nativePool()`'s answers once known (null: none), read without awaiting: an await costs every statement a microtask. */
const FOUND_POOLS = new WeakMap<object, PgPool | null>();

async function findNativePool(connection: SqlConnectionLike): Promise<PgPool | undefined> {
  if (typeof connection.getNativeClient !== 'function' || typeof connection.getClient !== 'function') return undefined;
  const config = connection.config;
  const options = connection.options ?? {};
  if (options.onReserveConnection || config?.get('onReserveConnection') || config?.get('sessionContext') === 'connection') return undefined;
  try {
    const pool = (await connection.getNativeClient()) as Partial<PgPool> | undefined;
    return pool && typeof pool.connect === 'function' && typeof pool.query === 'function' && typeof pool.totalCount === 'number' ? (pool as PgPool) : undefined;
  } catch {
    return undefined; // the host's own Kysely instance or dialect
  }
}

/** The session of an EntityManager: its transaction when it is in one. */
export function sessionOf(em: { getConnection(): unknown; getTransactionContext(): unknown; getPlatform(): Platform }): SqlSession {
  return { connection: em.getConnection(), transaction: em.getTransactionContext(), platform: em.getPlatform() };
}

/**
 * Runs `fn` in a new transaction of the connection itself: committed when `fn` resolves,
 * rolled back when it throws. Below the EntityManager (no fork, no unit of work to flush),
 * so a short transaction costs what BEGIN and COMMIT cost: on a client of MikroORM's own `pg`
 * pool where `nativePool` allows, else through the connection's `transactional()` (both versions).
 */
export async function inTransaction<T>(session: SqlSession, fn: (session: SqlSession) => T | Promise<T>, postgres: boolean): Promise<T> {
  const known = postgres ? FOUND_POOLS.get(session.connection as object) : null;
  const pool = known === undefined ? await nativePool(session.connection as SqlConnectionLike) : (known ?? undefined);
  if (!pool) return (session.connection as SqlConnectionLike).transactional(async (transaction) => fn({ ...session, transaction }));
  const client = await pool.connect().catch((error: unknown) => {
    throw session.platform.getExceptionConverter().convertException(error as Error);
  });
  try {
    await client.query('begin');
    const result = await fn({ ...session, native: client });
    await client.query('commit');
    client.release();
    return result;
  } catch (error) {
    // A connection that cannot roll back is broken: it leaves the pool (release(true) destroys it).
    const broken = await client.query('rollback').then(
      () => false,
      () => true,
    );
    client.release(broken);
    throw error;
  }
}

/**
 * Runs one statement with its values as the driver's own bind parameters, never formatted
 * into the SQL text (MikroORM's `execute()` formats them in: a value of an unexpected type
 * would become SQL). `sql` marks values with `?`; PostgreSQL's `$n` are numbered here, unless
 * the caller numbered them once already (`numbered`, the text with `$n`).
 * Driver errors come back as MikroORM's typed exceptions (`UniqueConstraintViolationException`, …).
 * - a store transaction on MikroORM's `pg` pool, or that pool directly (`nativePool`);
 * - MikroORM 7: a compiled query on the Kysely client or transaction;
 * - MikroORM 6: `knex.raw(sql, bindings)`, which binds (knex numbers `?` itself); on SQLite
 *   (libSQL) the statement runs on a connection of knex's pool, or of its transaction (`knexSqliteClient`).
 */
export async function executeBound(session: SqlSession, sql: string, params: readonly unknown[], postgres: boolean, numbered?: string): Promise<BoundResult> {
  const connection = session.connection as SqlConnectionLike;
  try {
    if (session.sqlite) return sqliteCall(session.sqlite, sql, params);
    const native = session.native ?? (postgres && !session.transaction ? await nativePool(connection) : undefined);
    if (native) return pgResult(await native.query(numbered ?? numberPlaceholders(sql), params));
    await connection.ensureConnection();
    const sqlite = knexSqliteClient(connection, session.transaction);
    if (sqlite) {
      const handle = (await sqlite.acquireConnection()) as SqliteHandle;
      try {
        return sqliteCall(handle, sql, params);
      } finally {
        await sqlite.releaseConnection(handle);
      }
    }
    if (typeof connection.getClient === 'function') {
      // fullauthSqlite(): straight on its node:sqlite connection, without Kysely's executor (src/sqlite/dialect.ts).
      const direct = postgres ? undefined : fullauthSqliteStatement(connection, session.transaction, sql, params);
      if (direct !== undefined) {
        const result = await direct;
        if (result) return result;
      }
      const text = postgres ? (numbered ?? numberPlaceholders(sql)) : sql;
      // The shape of Kysely's `CompiledQuery.raw(text, params)` (kysely is MikroORM's dependency, not ours).
      const compiled = {
        sql: text,
        parameters: params,
        query: { kind: 'RawNode', sqlFragments: [text], parameters: [] },
        queryId: { queryId: '' },
      };
      const result = await ((session.transaction as KyselyLike | undefined) ?? connection.getClient()).executeQuery(compiled);
      const rows = result.rows ?? [];
      return { rows, affected: result.numAffectedRows === undefined ? 0 : Number(result.numAffectedRows) };
    }
    const query = connection.getKnex!().raw(sql, params);
    if (session.transaction) query.transacting(session.transaction);
    const result = (await query) as { rows?: Record<string, unknown>[]; rowCount?: number | null } | [unknown, unknown];
    if (Array.isArray(result)) {
      // knex's mysql2 client: [rows, fields] for a read, [ResultSetHeader] for a write.
      const [first] = result;
      return Array.isArray(first) ? { rows: first as Record<string, unknown>[], affected: 0 } : { rows: [], affected: Number((first as { affectedRows?: number })?.affectedRows ?? 0) };
    }
    return { rows: result.rows ?? [], affected: result.rowCount ?? 0 };
  } catch (error) {
    if (error instanceof FullauthConfigError) throw error;
    throw session.platform.getExceptionConverter().convertException(error as Error);
  }
}

/**
 * MikroORM 6 on SQLite: the knex client to take a connection from — the open transaction's
 * (whose `acquireConnection()` hands out that transaction's connection) or the ORM's pool —,
 * or undefined on another database or on MikroORM 7. Statements then run on the connection
 * itself: knex's `raw()` on its SQLite clients chooses `run()` or `all()` by the statement's
 * first words and returns no changed-row count for some writes, where SQLite's own `reader`
 * flag is exact. Only libSQL's client (`@mikro-orm/libsql`) is tested and accepted.
 */
function knexSqliteClient(connection: SqlConnectionLike, transaction: unknown): KnexClientLike | undefined {
  if (!MIKRO_ORM_6 || typeof connection.getKnex !== 'function') return undefined;
  const pool = connection.getKnex().client;
  if (pool?.dialect !== 'sqlite3') return undefined;
  if (pool.driverName !== 'libsql') {
    throw new FullauthConfigError(
      `The fullauth store on SQLite under MikroORM 6 runs through @mikro-orm/libsql; this ORM uses the ${String(pool.driverName)} driver. See docs/sqlite.md.`,
    );
  }
  return (transaction as { client?: KnexClientLike } | undefined)?.client ?? pool;
}

/**
 * MikroORM 6 on MySQL/MariaDB (knex): `onOwnConnection()` on a connection of knex's pool,
 * taken for `fn` alone (as MikroORM 7's path takes one of mysql2's pool). For the changes of the
 * role/permission map: their named lock is taken on it before the transaction and released
 * after its COMMIT, which inside a knex transaction could only be released before. Undefined
 * (nothing run) where this is no MikroORM 6 MySQL connection.
 */
export async function onOwnKnexMysqlConnection<T>(session: SqlSession, fn: (session: SqlSession) => Promise<T>): Promise<{ result: T } | undefined> {
  const connection = session.connection as SqlConnectionLike;
  if (!MIKRO_ORM_6 || typeof connection.getKnex !== 'function') return undefined;
  const client = connection.getKnex().client as KnexClientLike | undefined;
  if (client?.dialect !== 'mysql') return undefined;
  const raw = (await client.acquireConnection().catch((error: unknown) => {
    throw session.platform.getExceptionConverter().convertException(error as Error);
  })) as Pick<MysqlConnection, 'execute' | 'query'> & { __knex__disposed?: unknown };
  let broken = false;
  const own: MysqlConnection = {
    execute: (sql, values, callback) => raw.execute(sql, values, callback),
    query: (sql, callback) => raw.query(sql, callback),
    release: () => undefined,
    destroy: () => {
      broken = true;
    },
  };
  try {
    return { result: await fn({ ...session, transaction: undefined, mysql: own, markBroken: () => (broken = true) } as SqlSession) };
  } finally {
    // A connection left in a transaction or holding the lock leaves the pool (knex's validate drops it).
    if (broken) raw.__knex__disposed = 'a fullauth store transaction could not be rolled back';
    await client.releaseConnection(raw);
  }
}

/** One statement on a libSQL connection: rows when it returns rows, else the count of rows it changed. *//** One statement on a libSQL connection: rows when it returns rows, else the count of rows it changed. */
function sqliteCall(handle: SqliteHandle, sql: string, params: readonly unknown[]): BoundResult {
  // BEGIN, COMMIT and ROLLBACK through exec(), which finalizes its statement even when it fails (busy).
  if (params.length === 0 && TRANSACTION_CONTROL.test(sql)) {
    handle.exec(sql);
    return { rows: [], affected: 0 };
  }
  try {
    const statement = handle.prepare(sql);
    if (statement.reader) return { rows: statement.all(params), affected: 0 };
    return { rows: [], affected: Number(statement.run(params).changes ?? 0) };
  } catch (error) {
    // libsql 0.5 does not reset a prepared statement that failed with SQLITE_BUSY: it stays
    // active, and every later COMMIT on its connection fails ("cannot commit transaction - SQL
    // statements in progress"). The connection leaves knex's pool (a new one replaces it).
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') handle.__knex__disposed = 'a statement failed with SQLITE_BUSY (libsql leaves it open)';
    throw error;
  }
}
const TRANSACTION_CONTROL = /^\s*(begin|commit|end|rollback)\b/i;

/**
 * PostgreSQL: `executeBound()` for a statement numbered once by its caller (`text`, with
 * `$n` for the `?` of `sql`): straight to MikroORM's `pg` pool (or the store's transaction on
 * it) once `nativePool` has found it, with no look-up of the text and no await on the way.
 */
export async function executePostgres(session: SqlSession, sql: string, text: string, params: readonly unknown[], arrays?: boolean): Promise<BoundResult> {
  const native = session.native ?? (session.transaction ? undefined : FOUND_POOLS.get(session.connection as object));
  if (!native) return executeBound(session, sql, params, true, text);
  try {
    if (arrays) {
      // pg builds an object per row by name otherwise: on a list of sessions, ~6% of the call.
      const result = await native.query({ text, values: params, rowMode: 'array' });
      return { rows: [], values: result.rows, affected: WRITES.has(result.command ?? '') ? (result.rowCount ?? 0) : 0 };
    }
    return pgResult(await native.query(text, params));
  } catch (error) {
    throw session.platform.getExceptionConverter().convertException(error as Error);
  }
}

function pgResult(result: PgResult): BoundResult {
  return { rows: result.rows ?? [], affected: WRITES.has(result.command ?? '') ? (result.rowCount ?? 0) : 0 };
}

/** The statements whose row count is an affected count (a SELECT's is the rows it returned). */
const WRITES = new Set(['INSERT', 'UPDATE', 'DELETE', 'MERGE']);

/** `?` → `$1, $2, …` (the store's statements hold no `?` in literals or operators), kept per statement text. */
function numberPlaceholders(sql: string): string {
  let numbered = NUMBERED.get(sql);
  if (numbered === undefined) {
    let n = 0;
    numbered = sql.replace(/\?/g, () => `$${++n}`);
    // The store's statements are a small fixed set (a few vary by a count); the cap only guards memory.
    if (NUMBERED.size >= 512) NUMBERED.clear();
    NUMBERED.set(sql, numbered);
  }
  return numbered;
}
const NUMBERED = new Map<string, string>();

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB: statements with server-side bind parameters, and connections of one's own

interface MysqlHeader {
  affectedRows?: number;
}
type MysqlCallback = (error: Error | null, result: unknown) => void;
interface MysqlConnection {
  execute(sql: string, values: readonly unknown[], callback: MysqlCallback): void;
  query(sql: string, callback: MysqlCallback): void;
  release(): void;
  destroy(): void;
}
interface MysqlPool {
  execute(sql: string, values: readonly unknown[], callback: MysqlCallback): void;
  getConnection(callback: (error: Error | null, connection: MysqlConnection) => void): void;
}

/**
 * MikroORM 7's MySQL and MariaDB connections keep a `mysql2` pool behind their Kysely dialect,
 * whose `query()` formats values into the SQL text (escaped). The store's statements go to
 * that pool's `execute()` instead: a prepared statement, the values sent apart from the text
 * (and each statement prepared once per connection). Not when a host hook runs on every
 * connection reservation, which only Kysely runs, nor for a dialect of the host's own.
 */
function nativeMysqlPool(connection: SqlConnectionLike): Promise<MysqlPool | undefined> {
  let pool = MYSQL_POOLS.get(connection);
  if (pool === undefined) {
    pool = findNativeMysqlPool(connection);
    MYSQL_POOLS.set(connection, pool);
    void pool.then((found) => FOUND_MYSQL_POOLS.set(connection, found ?? null));
  }
  return pool;
}
const MYSQL_POOLS = new WeakMap<object, Promise<MysqlPool | undefined>>();
/** The pools found (null: none may be used), for the statements after the first: no await to look one up. */
const FOUND_MYSQL_POOLS = new WeakMap<object, MysqlPool | null>();

async function findNativeMysqlPool(connection: SqlConnectionLike): Promise<MysqlPool | undefined> {
  if (typeof connection.getNativeClient !== 'function' || typeof connection.getClient !== 'function') return undefined;
  const config = connection.config;
  const options = connection.options ?? {};
  if (options.onReserveConnection || config?.get('onReserveConnection') || config?.get('sessionContext') === 'connection') return undefined;
  try {
    const pool = (await connection.getNativeClient()) as Partial<MysqlPool> | undefined;
    return pool && typeof pool.execute === 'function' && typeof pool.getConnection === 'function' ? (pool as MysqlPool) : undefined;
  } catch {
    return undefined;
  }
}

function mysqlCall(target: MysqlPool | MysqlConnection, sql: string, params: readonly unknown[] | undefined): Promise<BoundResult> {
  return new Promise((resolve, reject) => {
    const done: MysqlCallback = (error, result) => {
      if (error) return reject(error);
      resolve(Array.isArray(result) ? { rows: result as Record<string, unknown>[], affected: 0 } : { rows: [], affected: Number((result as MysqlHeader)?.affectedRows ?? 0) });
    };
    if (params === undefined) (target as MysqlConnection).query(sql, done);
    else target.execute(sql, params, done);
  });
}

/**
 * One statement on MySQL/MariaDB, its values bound: on the session's own `mysql2` connection
 * or the pool's `execute()` where `nativeMysqlPool` allows, else as `executeBound()` sends it.
 */
export function executeMysql(session: SqlSession, sql: string, params: readonly unknown[]): Promise<BoundResult> {
  let native: MysqlPool | MysqlConnection | null | undefined = session.mysql;
  if (native === undefined && !session.transaction) {
    native = FOUND_MYSQL_POOLS.get(session.connection as object);
    // Not looked up yet: the first statement on this connection waits for the look-up.
    if (native === undefined) return nativeMysqlPool(session.connection as SqlConnectionLike).then(() => executeMysql(session, sql, params));
  }
  if (!native) return executeBound(session, sql, params, false);
  return mysqlCall(native, sql, params).catch((error: unknown) => {
    throw session.platform.getExceptionConverter().convertException(error as Error);
  });
}

/**
 * Runs `fn` on one connection of the pool, reserved for it alone (for a transaction of the
 * store's own, or a session-level lock): a `mysql2` connection where `nativeMysqlPool` allows
 * (`mysql: true`), else Kysely's `connection()` (MikroORM 7), or on MikroORM 6 a libSQL
 * connection of knex's pool. Returns undefined (without running `fn`) when none exists
 * (MikroORM 6 on MySQL): the caller uses `connection.transactional()`.
 */
export async function onOwnConnection<T>(session: SqlSession, mysql: boolean, fn: (session: SqlSession) => Promise<T>): Promise<{ result: T } | undefined> {
  const connection = session.connection as SqlConnectionLike;
  const pool = mysql ? await nativeMysqlPool(connection) : undefined;
  if (pool) {
    const own = await new Promise<MysqlConnection>((resolve, reject) =>
      pool.getConnection((error, c) => (error ? reject(session.platform.getExceptionConverter().convertException(error)) : resolve(c))),
    );
    let broken = false;
    try {
      return { result: await fn({ ...session, transaction: undefined, mysql: own, markBroken: () => (broken = true) } as SqlSession) };
    } finally {
      if (broken) own.destroy();
      else own.release();
    }
  }
  await connection.ensureConnection();
  // MikroORM 6 on SQLite (libSQL): a connection of knex's pool, so that the store's transaction
  // can begin as it must (BEGIN IMMEDIATE), which knex's transactions cannot.
  const sqlite = knexSqliteClient(connection, undefined);
  if (sqlite) {
    const handle = (await sqlite.acquireConnection().catch((error: unknown) => {
      throw session.platform.getExceptionConverter().convertException(error as Error);
    })) as SqliteHandle;
    let broken = false;
    try {
      return { result: await fn({ ...session, transaction: undefined, sqlite: handle, markBroken: () => (broken = true) } as SqlSession) };
    } finally {
      // A connection still in a transaction it could not roll back leaves the pool (knex's validate drops it).
      if (broken) handle.__knex__disposed = 'a fullauth store transaction could not be rolled back';
      await sqlite.releaseConnection(handle);
    }
  }
  if (typeof connection.getClient !== 'function') return undefined;
  // fullauthSqlite(): its connection held directly, without a Kysely instance per transaction (src/sqlite/dialect.ts).
  const direct = mysql ? undefined : fullauthSqliteReserved(connection, (transaction) => fn({ ...session, transaction }));
  const reserved = direct && (await direct);
  if (reserved) return reserved;
  const client = connection.getClient() as KyselyLike & { connection?(): { execute<R>(fn: (db: unknown) => Promise<R>): Promise<R> } };
  if (typeof client.connection !== 'function') return undefined;
  return { result: await client.connection().execute((db) => fn({ ...session, transaction: db })) };
}

/**
 * A transaction on a session from `onOwnConnection()`: the `begin` statements (each database
 * its own), `fn`, then commit; rolled back when anything fails (a connection that cannot roll
 * back is destroyed, not returned to the pool).
 */
export async function transactionOn<T>(session: SqlSession, begin: readonly string[], fn: (session: SqlSession) => T | Promise<T>): Promise<T> {
  const run = async (sql: string) => {
    if (!session.mysql) return executeBound(session, sql, [], false);
    try {
      return await mysqlCall(session.mysql, sql, undefined);
    } catch (error) {
      throw session.platform.getExceptionConverter().convertException(error as Error);
    }
  };
  for (const sql of begin) await run(sql);
  try {
    const result = await fn(session);
    await run('commit');
    return result;
  } catch (error) {
    await run('rollback').catch(() => (session as { markBroken?: () => void }).markBroken?.());
    throw error;
  }
}

/** `connection.transactional()` with options (MikroORM 6 and 7), for a database without `onOwnConnection()`. */
export function transactional<T>(session: SqlSession, options: { isolationLevel?: string }, fn: (session: SqlSession) => T | Promise<T>): Promise<T> {
  const connection = session.connection as SqlConnectionLike & { transactional<R>(fn: (trx: unknown) => Promise<R>, options: object): Promise<R> };
  return connection.transactional(async (transaction) => fn({ ...session, transaction }), options);
}
