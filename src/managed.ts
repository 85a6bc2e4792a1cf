import type { MikroORM } from '@mikro-orm/core';
import { definitionOf } from './build-schema.js';
import { dialectOf, isMariaDbPlatform, unsupportedOn, type FullauthDialect } from './dialects.js';
import { FullauthConfigError, showValue } from './errors.js';
import { FULLAUTH_GROUPS, type FullauthGroup } from './groups.js';
import { MYSQL_MIGRATIONS } from './managed/mysql.js';
import { POSTGRESQL_MIGRATIONS } from './managed/postgresql.js';
import { SQLITE_MIGRATIONS } from './managed/sqlite.js';
import { renderTemplate } from './managed/template.js';
import { DEFAULT_MIGRATIONS_TABLE, assertTrackingTable } from './naming.js';
import type { ResolvedFullauth } from './options.js';
import { executeBound, onOwnConnection, sessionOf, transactionOn, type SqlSession } from './orm-compat.js';
import { readOptions, rejectUnknownKeys, type ReadOptions } from './read-options.js';

/** An option of defineFullauthEntities() that a shipped migration belongs to (applied only when it is on). */
export type FullauthManagedOption = 'performanceIndexes';

/**
 * A versioned migration of the fullauth tables, shipped in this package. Its SQL uses
 * template names (`__fa__users`, …) that are rendered with the host's naming and schema.
 */
export interface FullauthManagedMigration {
  /**
   * `<version>_<group>` (e.g. `0001_base`), or `<version>_<group>_<option>` for a step that
   * belongs to an option (`0002_base_performance`): the order is version, then group order,
   * then the group's own step before its option step.
   */
  readonly name: string;
  readonly group: FullauthGroup;
  /** Applied only when this option of defineFullauthEntities() is on. */
  readonly option?: FullauthManagedOption;
  readonly up: readonly string[];
  /** Returns the tables to what they were before `up` (`down()`); a step without it cannot be reverted. */
  readonly down?: readonly string[];
}

/** Every option may be left out or set to `null`: both mean "the default". */
export interface FullauthMigratorOptions {
  /**
   * The tracking table of this stream. Default `fullauth_migrations` (in the fullauth schema, if one is set).
   * A lower-case SQL identifier of at most 63 characters, not the name of a fullauth table.
   * With another name, pass the same to `fullauthSchemaHooks({ migrationsTable })` so the host's diff leaves it alone.
   */
  tableName?: string | null;
  /** The migrations to run: the package's own by default (tests pass a later or an earlier version's). */
  migrations?: readonly FullauthManagedMigration[] | null;
}

/** A version of the stream: `'0002'` (or `2`); `'0000'` is "before the first migration". */
export type FullauthVersion = string | number;

export interface FullauthMigrator {
  /**
   * Applies the pending migrations of the included groups (and options), each under the
   * stream's lock, and returns their names. `to` stops after that version.
   */
  up(options?: { to?: FullauthVersion | null } | null): Promise<string[]>;
  /**
   * Reverts the applied migrations of versions after `to`, newest first, and returns their
   * names. Reverting a version's first migration (`to: '0000'`) drops the fullauth tables with
   * their rows: it is refused unless `dropTables: true` is passed as well.
   */
  down(options: { to: FullauthVersion; dropTables?: boolean | null }): Promise<string[]>;
  /**
   * The applied and pending migrations. Read-only: it creates no table, schema or database
   * (a tracking table that does not exist yet means nothing was applied).
   */
  status(): Promise<{ executed: string[]; pending: string[] }>;
  /**
   * The SQL `up` would run, as a script for a DBA (each migration with its tracking row),
   * without running it. Read-only. Without `from`, the migrations pending in the database;
   * with `from`, every migration after that version (the database is not read); `to` stops
   * after that version.
   */
  sql(options?: { from?: FullauthVersion | null; to?: FullauthVersion | null } | null): Promise<string>;
  /** The versions of the stream this migrator knows, oldest first (`['0001', '0002']`). */
  readonly versions: readonly string[];
  /** The database's dialect. */
  readonly dialect: FullauthDialect;
}

/** The part of an SQL EntityManager (`@mikro-orm/sql` on MikroORM 7, `@mikro-orm/knex` on 6) the stream uses. */
interface SqlEntityManager {
  execute<T = unknown>(sql: string): Promise<T>;
  transactional<T>(fn: (em: SqlEntityManager) => Promise<T>): Promise<T>;
}

/** The migrations shipped per database. */
export const SHIPPED_MIGRATIONS: Partial<Record<FullauthDialect, readonly FullauthManagedMigration[]>> = {
  postgresql: POSTGRESQL_MIGRATIONS,
  mysql: MYSQL_MIGRATIONS,
  sqlite: SQLITE_MIGRATIONS,
};

/** How one database runs the stream: quoting, the tracking table and the lock. */
interface StreamDialect {
  quote(id: string): string;
  createTracking(tracking: string, schema: string | undefined): string[];
  /** Read-only: whether the tracking table exists. */
  trackingExists(em: SqlEntityManager, schema: string | undefined, tableName: string, tracking: string): Promise<boolean>;
  /** Runs `fn` on one connection holding the stream's lock; what `fn` wrote is committed before the lock is released. */
  locked<T>(em: SqlEntityManager, tracking: string, fn: (em: SqlEntityManager) => Promise<T>): Promise<T>;
  now: string;
  /** The statements of the script `sql()` prints around one migration, and how the lock is taken there. */
  script: { lock(tracking: string): string[]; begin: string | undefined; commit: string | undefined };
}

const literal = (value: string) => `'${value.replace(/'/g, "''")}'`;

const STREAM_DIALECTS: Partial<Record<FullauthDialect, StreamDialect>> = {
  postgresql: {
    quote: (id) => `"${id.replace(/"/g, '""')}"`,
    createTracking: (tracking, schema) => [
      ...(schema ? [`create schema if not exists "${schema}"`] : []),
      `create table if not exists ${tracking} ("name" varchar(255) not null primary key, "executed_at" timestamptz not null)`,
    ],
    async trackingExists(em, _schema, _table, tracking) {
      const [row] = await em.execute<{ present: boolean }[]>(`select to_regclass(${literal(tracking)}) is not null as "present"`);
      return row?.present === true;
    },
    // The advisory lock is held until the transaction ends: DDL, tracking row and lock end together.
    locked: (em, tracking, fn) =>
      em.transactional(async (tx) => {
        await tx.execute(`select pg_advisory_xact_lock(hashtext(${literal(tracking)}))`);
        return fn(tx);
      }),
    now: 'now()',
    script: { lock: (tracking) => [`select pg_advisory_xact_lock(hashtext(${literal(tracking)}))`], begin: 'begin', commit: 'commit' },
  },
  mysql: {
    quote: (id) => `\`${id.replace(/`/g, '``')}\``,
    createTracking: (tracking) => [
      `create table if not exists ${tracking} (\`name\` varchar(255) not null, \`executed_at\` datetime(6) not null, primary key (\`name\`)) default character set utf8mb4 engine = InnoDB`,
    ],
    async trackingExists(em, _schema, table) {
      const rows = await em.execute<{ n: number | string }[]>(
        `select count(*) as n from information_schema.tables where table_schema = database() and table_name = ${literal(table)}`,
      );
      return Number(rows[0]?.n ?? 0) > 0;
    },
    // GET_LOCK is held by the session: the transaction pins one connection. MySQL commits DDL
    // implicitly, so what ran is committed before the lock is released.
    locked: (em, tracking, fn) =>
      em.transactional(async (tx) => {
        const name = mysqlLockName(tracking);
        const [row] = await tx.execute<{ got: number | string | null }[]>(`select get_lock(${name}, ${LOCK_WAIT_SECONDS}) as got`);
        if (Number(row?.got) !== 1) {
          throw new FullauthConfigError(`Another runner held the fullauth migration lock (GET_LOCK ${name}) for over ${LOCK_WAIT_SECONDS} s; nothing was applied.`);
        }
        try {
          const result = await fn(tx);
          await tx.execute('commit');
          return result;
        } finally {
          await tx.execute(`do release_lock(${name})`);
        }
      }),
    now: 'current_timestamp(6)',
    script: {
      lock: (tracking) => [`do get_lock(${mysqlLockName(tracking)}, ${LOCK_WAIT_SECONDS})`],
      begin: undefined,
      commit: undefined,
    },
  },
  sqlite: {
    quote: (id) => `"${id.replace(/"/g, '""')}"`,
    createTracking: (tracking) => [
      `create table if not exists ${tracking} ("name" text not null primary key, "executed_at" datetime not null)`,
    ],
    async trackingExists(em, _schema, table) {
      const rows = await em.execute<{ n: number | string }[]>(`select count(*) as n from sqlite_master where type = 'table' and name = ${literal(table)}`);
      return Number(rows[0]?.n ?? 0) > 0;
    },
    // BEGIN IMMEDIATE takes SQLite's write lock at once: a second runner (another connection
    // or process) waits for it (busy timeout), then re-reads the tracking table.
    async locked(em, _tracking, fn) {
      const session = sessionOf(em as never);
      const deadline = Date.now() + LOCK_WAIT_SECONDS * 1000;
      for (let wait = 10; ; wait = Math.min(wait * 2, 250)) {
        let began = false;
        try {
          const own = await onOwnConnection(session, false, (s) =>
            transactionOn(s, ['begin immediate'], (tx) => {
              began = true;
              return fn(sessionManager(tx));
            }),
          );
          if (!own) throw new FullauthConfigError('Managed fullauth migrations on SQLite need MikroORM 7 (a connection of its own for BEGIN IMMEDIATE).');
          return own.result;
        } catch (error) {
          // Another connection holds the write lock: wait for it without blocking the event loop.
          if (began || !isSqliteBusy(error) || Date.now() > deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, wait));
        }
      }
    },
    now: `strftime('%Y-%m-%d %H:%M:%f', 'now')`,
    script: { lock: () => [], begin: 'begin immediate', commit: 'commit' },
  },
};

/** SQLite's "database is locked" (SQLITE_BUSY), as node:sqlite or MikroORM's exception converter reports it. */
function isSqliteBusy(error: unknown): boolean {
  for (let e = error as { message?: unknown; errcode?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.errcode === 5 || (typeof e.message === 'string' && /database is locked|SQLITE_BUSY/i.test(e.message))) return true;
  }
  return false;
}

/** An SQL session as the part of an EntityManager the stream uses. */
function sessionManager(session: SqlSession): SqlEntityManager {
  return {
    execute: async <T>(sql: string) => (await executeBound(session, sql, [], false)).rows as T,
    transactional: (fn) => fn(sessionManager(session)),
  };
}

/** How long a runner waits for another to finish (MySQL's GET_LOCK needs a timeout). */
const LOCK_WAIT_SECONDS = 600;
/** Lock names are server-wide on MySQL: the database's name is part of it (64 characters at most). */
const mysqlLockName = (tracking: string) => `left(concat('fullauth:', database(), '.', ${literal(tracking.replace(/`/g, ''))}), 64)`;

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
  const dialectName = dialectOf(orm.config.getDriver().getPlatform());
  const dialect = STREAM_DIALECTS[dialectName];
  const shipped = SHIPPED_MIGRATIONS[dialectName];
  if (!dialect || (!shipped && !options.migrations)) {
    const refusal = unsupportedOn(dialectName, 'Managed mode (the shipped fullauth migration stream)', ['postgresql', 'mysql']);
    throw new FullauthConfigError(`${refusal.message} This ORM uses ${driverName}; use the host's Migrator with fullauthMigrations() there instead.`);
  }
  const definition = [...orm.getMetadata()].map((meta) => definitionOf(meta.class)).find(Boolean);
  if (!definition) throw new FullauthConfigError('fullauthMigrator(): this ORM has no fullauth entities.');
  assertManageable(definition, dialectName);
  const migrations = options.migrations ?? shipped!;
  const schema = dialectName === 'postgresql' ? definition.schema : undefined;
  const tableName = options.tableName ?? DEFAULT_MIGRATIONS_TABLE;
  assertTrackingTable(tableName, 'tableName', definition.naming);
  const tracking = `${schema ? `${dialect.quote(schema)}.` : ''}${dialect.quote(tableName)}`;
  const wanted = migrations
    .filter((m) => definition.groups.includes(m.group) && (!m.option || definition[m.option]))
    .toSorted(compareMigrations);
  const versions = [...new Set(migrations.map(versionOf))].sort();

  const fork = () => orm.em.fork() as unknown as SqlEntityManager;
  // The shipped MySQL stream writes MariaDB's implicit ON UPDATE rule (RESTRICT); MySQL's own is
  // NO ACTION, so there the clause is left out, as SQLAlchemy leaves it out (column-types.ts).
  const mysqlServer = dialectName === 'mysql' && !isMariaDbPlatform(orm.config.getDriver().getPlatform());
  const render = (statement: string) => {
    const rendered = renderTemplate(statement, definition.naming, schema);
    return mysqlServer ? rendered.replace(/ on update restrict\b/gi, '') : rendered;
  };
  const trackingExists = () => dialect.trackingExists(fork(), schema, tableName, tracking);
  const executed = async (): Promise<string[]> => {
    if (!(await trackingExists())) return [];
    const rows = await fork().execute<{ name: string }[]>(`select ${dialect.quote('name')} as ${dialect.quote('name')} from ${tracking} order by 1`);
    return rows.map((r) => r.name);
  };
  const isApplied = async (em: SqlEntityManager, name: string) => {
    const [row] = await em.execute<{ n: number | string }[]>(`select count(*) as n from ${tracking} where ${dialect.quote('name')} = ${literal(name)}`);
    return Number(row?.n ?? 0) > 0;
  };
  const version = (value: FullauthVersion | null | undefined, what: string) => readVersion(value, what, versions);

  return {
    versions,
    dialect: dialectName,
    async status() {
      // Read-only: no tracking table yet means nothing was applied.
      const done = await executed();
      return { executed: done, pending: wanted.map((m) => m.name).filter((n) => !done.includes(n)) };
    },
    async up(given) {
      const upOptions = readOptions(given, 'up() options');
      rejectUnknownKeys(upOptions, ['to'], 'up() option');
      const to = version(upOptions.to, 'to');
      const selected = wanted.filter((m) => to === undefined || versionOf(m) <= to);
      await dialect.locked(fork(), tracking, async (em) => {
        for (const statement of dialect.createTracking(tracking, schema)) await em.execute(statement);
      });
      const applied: string[] = [];
      for (const migration of selected) {
        const ran = await dialect.locked(fork(), tracking, async (em) => {
          if (await isApplied(em, migration.name)) return false;
          for (const statement of migration.up) await runStatement(em, migration.name, render(statement));
          await em.execute(`insert into ${tracking} (${dialect.quote('name')}, ${dialect.quote('executed_at')}) values (${literal(migration.name)}, ${dialect.now})`);
          return true;
        });
        if (ran) applied.push(migration.name);
      }
      return applied;
    },
    async down(given) {
      const downOptions = readOptions(given as object, 'down() options') as { to?: FullauthVersion; dropTables?: boolean | null };
      rejectUnknownKeys(downOptions, ['to', 'dropTables'], 'down() option');
      const to = version(downOptions.to, 'to');
      if (to === undefined) {
        throw new FullauthConfigError(`down() needs the version to return to: { to: '${versions.at(-2) ?? '0000'}' } (valid: ${['0000', ...versions].join(', ')}).`);
      }
      if (downOptions.dropTables !== undefined && downOptions.dropTables !== null && typeof downOptions.dropTables !== 'boolean') {
        throw new FullauthConfigError(`dropTables must be a boolean, got ${showValue(downOptions.dropTables)}.`);
      }
      const done = await executed();
      const selected = migrations
        .filter((m) => done.includes(m.name) && versionOf(m) > to)
        .toSorted(compareMigrations)
        .reverse();
      // Everything is checked before anything is reverted.
      const missing = selected.filter((m) => !m.down);
      if (missing.length > 0) {
        throw new FullauthConfigError(`These fullauth migrations cannot be reverted (they ship no down SQL): ${missing.map((m) => m.name).join(', ')}. Nothing was reverted.`);
      }
      const creating = selected.filter((m) => m.down!.some((s) => /^drop table\b/i.test(s.trim())));
      if (creating.length > 0 && downOptions.dropTables !== true) {
        throw new FullauthConfigError(
          `Reverting ${creating.map((m) => m.name).join(', ')} drops fullauth tables and every row in them. ` +
            `Pass { to: '${to}', dropTables: true } to do that; nothing was reverted.`,
        );
      }
      const reverted: string[] = [];
      for (const migration of selected) {
        const ran = await dialect.locked(fork(), tracking, async (em) => {
          if (!(await isApplied(em, migration.name))) return false;
          for (const statement of migration.down!) await runStatement(em, `${migration.name} (down)`, render(statement));
          await em.execute(`delete from ${tracking} where ${dialect.quote('name')} = ${literal(migration.name)}`);
          return true;
        });
        if (ran) reverted.push(migration.name);
      }
      return reverted;
    },
    async sql(given) {
      const sqlOptions = readOptions(given, 'sql() options');
      rejectUnknownKeys(sqlOptions, ['from', 'to'], 'sql() option');
      const from = version(sqlOptions.from, 'from');
      const to = version(sqlOptions.to, 'to');
      if (from !== undefined && to !== undefined && to < from) {
        throw new FullauthConfigError(`to (${to}) is before from (${from}): nothing could be printed. Valid versions: ${['0000', ...versions].join(', ')}.`);
      }
      // Without `from`, the database says what is pending (read-only); with it, the database is not read.
      const done = from === undefined ? await executed() : [];
      const selected = wanted.filter(
        (m) => (from === undefined ? !done.includes(m.name) : versionOf(m) > from) && (to === undefined || versionOf(m) <= to),
      );
      const lines = [
        `-- fullauth managed migrations for ${dialectName}${from === undefined ? ' (pending in this database)' : ` after version ${from}`}${to === undefined ? '' : `, up to version ${to}`}`,
        `-- Groups: ${definition.groups.join(', ')}${definition.performanceIndexes ? '; performanceIndexes' : ''}. Tracking table: ${tracking}.`,
      ];
      if (selected.length === 0) return `${lines.join('\n')}\n-- Nothing to apply.\n`;
      lines.push('', ...dialect.createTracking(tracking, schema).map((s) => `${s};`));
      for (const migration of selected) {
        lines.push('', `-- ${migration.name}`);
        if (dialect.script.begin) lines.push(`${dialect.script.begin};`);
        lines.push(...dialect.script.lock(tracking).map((s) => `${s};`));
        lines.push(...migration.up.map((s) => `${render(s)};`));
        lines.push(`insert into ${tracking} (${dialect.quote('name')}, ${dialect.quote('executed_at')}) values (${literal(migration.name)}, ${dialect.now});`);
        if (dialect.script.commit) lines.push(`${dialect.script.commit};`);
      }
      return `${lines.join('\n')}\n`;
    },
  };
}

/** Runs one statement of a migration; a failure names the migration and the statement. */
async function runStatement(em: SqlEntityManager, migration: string, statement: string): Promise<void> {
  try {
    await em.execute(statement);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw Object.assign(new Error(`fullauth migration ${migration} failed at: ${statement}\n${reason}`), { cause: error });
  }
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

/** A version as given (`2`, `'2'`, `'0002'`), checked against the stream's versions; `undefined` when not given. */
export function readVersion(value: unknown, what: string, versions: readonly string[]): string | undefined {
  if (value === undefined || value === null) return undefined;
  const valid = ['0000', ...versions];
  const text = typeof value === 'number' && Number.isInteger(value) ? String(value) : value;
  if (typeof text !== 'string' || !/^\d{1,4}$/.test(text.trim()) || !valid.includes(text.trim().padStart(4, '0'))) {
    throw new FullauthConfigError(`${what} must be a version of the fullauth stream, got ${showValue(value)}. Valid: ${valid.join(', ')} (0000: before the first migration).`);
  }
  return text.trim().padStart(4, '0');
}

/** The config is one managed mode does not cover (bigint ids, user.properties): the host's Migrator migrates its tables. */
export class ManagedModeNotCoveredError extends FullauthConfigError {
  override name = 'ManagedModeNotCoveredError';
}

export const versionOf = (m: FullauthManagedMigration) => m.name.split('_')[0]!;

export function compareMigrations(a: FullauthManagedMigration, b: FullauthManagedMigration): number {
  return (
    versionOf(a).localeCompare(versionOf(b)) ||
    FULLAUTH_GROUPS.indexOf(a.group) - FULLAUTH_GROUPS.indexOf(b.group) ||
    Number(a.option !== undefined) - Number(b.option !== undefined) ||
    a.name.localeCompare(b.name)
  );
}

function assertManageable(definition: ResolvedFullauth, dialect: FullauthDialect): void {
  if (definition.idStrategy === 'bigint') {
    throw new ManagedModeNotCoveredError(
      "Managed fullauth migrations create uuid keys; idStrategy 'bigint' is not covered: the shipped SQL is fixed when the package is built, " +
        "and its keys are the contract's uuid keys (the tables a fastapi-fullauth service shares). A bigint stream would be a second, " +
        "parallel stream that no Python service can share, and a database cannot move between the two without rewriting every key, " +
        "which a migration must not do. Use the host's Migrator with fullauthMigrations() instead.",
    );
  }
  if (Object.keys(definition.user.properties).length > 0) {
    throw new ManagedModeNotCoveredError(
      "Managed fullauth migrations cover the fullauth columns only; a user extended with user.properties is not covered: " +
        "the host's columns on the users table are the host's schema, which the shipped SQL cannot know, and managed mode hides " +
        "the users table from the host's diff (fullauthSchemaHooks({ excludeFromDiff: true })), so nobody would create them. " +
        "Use the host's Migrator with fullauthMigrations() instead.",
    );
  }
  if (definition.schema && dialect !== 'postgresql') {
    throw new FullauthConfigError(`The schema option is a PostgreSQL schema; managed mode on ${dialect} keeps the fullauth tables in the connection's database. Leave schema out.`);
  }
}
