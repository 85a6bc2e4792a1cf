// ORMs on the other databases of the contract: MariaDB (the MySQL driver family) and SQLite
// (MikroORM 7: node:sqlite; MikroORM 6 under Node 20: libSQL, `@mikro-orm/libsql`). Every ORM
// gets the Migrator and the bundled migration settings, and on MikroORM 6 the same method
// names and options as the other test ORMs (compat.ts).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MikroORM as MariaDbORM } from '@mikro-orm/mariadb';
import { Migrator } from '@mikro-orm/migrations';
import type { MikroORM as SqlORM, Options as SqlOptions } from '@mikro-orm/sql';
import { fullauthMigrations, fullauthSqlite } from '../../src/index.js';
import { MIKRO_ORM_6, MIKRO_ORM_6_OPTIONS, withMikroOrm7Names } from './compat.js';

/**
 * A MariaDB database, or a SQLite file. SQLite on MikroORM 7 is node:sqlite through MikroORM's
 * `NodeSqliteDialect`, or through `fullauthSqlite()` (`dialect: 'fullauth'`: the config
 * docs/sqlite.md gives the store's users); on MikroORM 6 it is libSQL either way.
 */
export type OtherDatabase = { kind: 'mariadb'; url: string } | { kind: 'mysql'; url: string } | { kind: 'sqlite'; file: string; dialect?: 'node' | 'fullauth' };
type AnyOrm = MariaDbORM | SqlORM;

/**
 * Why a suite written for node:sqlite does not run here, if it does not: node:sqlite comes
 * with Node 22 and MikroORM reaches it through `NodeSqliteDialect` (or `fullauthSqlite()`), a
 * MikroORM 7 (Kysely) dialect; the MikroORM 6 job runs Node 20. SQLite itself runs there
 * through libSQL (`initOtherOrm()`, `openSqlite()`): the suites that use only those run on both.
 */
export const SQLITE_UNSUPPORTED: string | undefined = MIKRO_ORM_6
  ? 'skipped on MikroORM 6: this suite runs SQLite through node:sqlite (NodeSqliteDialect), which needs MikroORM 7 and Node 22; MikroORM 6 reaches SQLite through libSQL, tested in databases.test.ts and store-sqlite*.test.ts'
  : undefined;

/** The SQLite of this job, in titles: what `initOtherOrm({ kind: 'sqlite' })` connects through. */
export const SQLITE_NAME = MIKRO_ORM_6 ? 'SQLite (libSQL)' : 'SQLite (node:sqlite)';

export async function initOtherOrm(target: OtherDatabase, options: SqlOptions): Promise<AnyOrm> {
  const { migrations, extensions = [], ...rest } = options;
  const common = {
    extensions: [Migrator, ...extensions],
    migrations: fullauthMigrations({ silent: true, ...migrations }),
    debug: false,
    ...MIKRO_ORM_6_OPTIONS,
    ...rest,
  };
  if (target.kind === 'mariadb') {
    const { MikroORM } = await import('@mikro-orm/mariadb');
    return withMikroOrm7Names(await MikroORM.init({ clientUrl: target.url, ...common } as never));
  }
  if (target.kind === 'mysql') {
    // MySQL itself: MikroORM's MySQL driver, as a MySQL user configures it.
    const { MikroORM } = await import('@mikro-orm/mysql');
    return withMikroOrm7Names(await MikroORM.init({ clientUrl: target.url, ...common } as never));
  }
  if (MIKRO_ORM_6) {
    // MikroORM 6: libSQL's driver (a knex pool of one connection, busy timeout 0 unless configured).
    const { MikroORM } = (await import(/* @vite-ignore */ LIBSQL_ORM)) as { MikroORM: { init(options: object): Promise<SqlORM> } };
    return withMikroOrm7Names(await MikroORM.init({ dbName: target.file, ...common }));
  }
  const { MikroORM, NodeSqliteDialect, SqliteDriver } = await import('@mikro-orm/sql');
  const dialect = target.dialect === 'fullauth' ? fullauthSqlite({ file: target.file }) : new NodeSqliteDialect(target.file);
  return MikroORM.init({ driver: SqliteDriver, dbName: target.file, driverOptions: dialect, ...common } as never);
}

/** Installed in the MikroORM 6 job only (ci/mikro-orm-6), so imported by a name the type-checker does not follow. */
const LIBSQL_ORM = '@mikro-orm/libsql';
const LIBSQL = 'libsql';

const TMP_ROOT = new URL('../../.fullauth-dev/test-tmp/', import.meta.url).pathname;

/** A scratch folder inside the repo (generated migrations resolve @mikro-orm/migrations from node_modules). */
export function scratchDir(prefix: string, cleanup: string[]): string {
  mkdirSync(TMP_ROOT, { recursive: true });
  const dir = mkdtempSync(join(TMP_ROOT, `${prefix}-`));
  cleanup.push(dir);
  return dir;
}

export const removeDirs = (dirs: string[]) => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));

/** A connection to a SQLite file beside the ORMs (as another service would hold one). */
export interface SqliteFile {
  /** Runs statements, no values bound. */
  exec(sql: string): void;
  /** The rows of one statement, values bound. */
  all(sql: string, params?: readonly unknown[]): Record<string, unknown>[];
  /** One statement that returns no rows, values bound. */
  run(sql: string, params?: readonly unknown[]): void;
  readonly inTransaction: boolean;
  close(): void;
}

interface LibsqlDatabase {
  exec(sql: string): void;
  prepare(sql: string): { all(params: readonly unknown[]): Record<string, unknown>[]; run(params: readonly unknown[]): unknown };
  readonly inTransaction: boolean;
  close(): void;
}

/**
 * Opens a SQLite file: through node:sqlite (Node 22), or through libsql's `Database` on the
 * MikroORM 6 job (Node 20 has no node:sqlite). `foreignKeys` (default on) and `timeout` (the
 * busy timeout in ms, default 0) mean the same on both.
 */
export async function openSqlite(file: string, options: { readOnly?: boolean; foreignKeys?: boolean; timeout?: number } = {}): Promise<SqliteFile> {
  const { readOnly = false, foreignKeys = true, timeout = 0 } = options;
  if (MIKRO_ORM_6) {
    const Database = ((await import(/* @vite-ignore */ LIBSQL)) as { default: new (file: string, options: object) => LibsqlDatabase }).default;
    const db = new Database(file, { timeout });
    db.exec(`pragma foreign_keys = ${foreignKeys ? 'on' : 'off'}`);
    if (readOnly) db.exec('pragma query_only = on');
    return {
      exec: (sql) => db.exec(sql),
      all: (sql, params = []) => db.prepare(sql).all(params),
      run: (sql, params = []) => void db.prepare(sql).run(params),
      get inTransaction() {
        return db.inTransaction;
      },
      close: () => db.close(),
    };
  }
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(file, { readOnly, enableForeignKeyConstraints: foreignKeys, timeout });
  return {
    exec: (sql) => db.exec(sql),
    all: (sql, params = []) => db.prepare(sql).all(...(params as never[])) as Record<string, unknown>[],
    run: (sql, params = []) => void db.prepare(sql).run(...(params as never[])),
    get inTransaction() {
      return db.isTransaction;
    },
    close: () => db.close(),
  };
}

/** Runs SQL on a SQLite file (`openSqlite()`). */
export async function sqliteExec(file: string, sql: string): Promise<void> {
  const db = await openSqlite(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}
