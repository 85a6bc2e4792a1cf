// ORMs on the other databases of the contract: MariaDB (the MySQL driver family) and SQLite
// through node:sqlite. Every ORM gets the Migrator and the bundled migration settings, and on
// MikroORM 6 the same method names and options as the other test ORMs (compat.ts).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { MikroORM as MariaDbORM } from '@mikro-orm/mariadb';
import { Migrator } from '@mikro-orm/migrations';
import type { MikroORM as SqlORM, Options as SqlOptions } from '@mikro-orm/sql';
import { fullauthMigrations } from '../../src/index.js';
import { MIKRO_ORM_6, MIKRO_ORM_6_OPTIONS, withMikroOrm7Names } from './compat.js';

export type OtherDatabase = { kind: 'mariadb'; url: string } | { kind: 'sqlite'; file: string };
type AnyOrm = MariaDbORM | SqlORM;

/**
 * Why the SQLite targets do not run here, if they do not: node:sqlite comes with Node 22
 * and MikroORM reaches it through `NodeSqliteDialect`, a MikroORM 7 (Kysely) dialect; the
 * MikroORM 6 job runs Node 20.
 */
export const SQLITE_UNSUPPORTED: string | undefined = MIKRO_ORM_6
  ? 'skipped on MikroORM 6: SQLite runs through node:sqlite (NodeSqliteDialect), which needs MikroORM 7 and Node 22'
  : undefined;

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
  const { MikroORM, NodeSqliteDialect, SqliteDriver } = await import('@mikro-orm/sql');
  return MikroORM.init({ driver: SqliteDriver, dbName: target.file, driverOptions: new NodeSqliteDialect(target.file), ...common } as never);
}

const TMP_ROOT = new URL('../../.fullauth-dev/test-tmp/', import.meta.url).pathname;

/** A scratch folder inside the repo (generated migrations resolve @mikro-orm/migrations from node_modules). */
export function scratchDir(prefix: string, cleanup: string[]): string {
  mkdirSync(TMP_ROOT, { recursive: true });
  const dir = mkdtempSync(join(TMP_ROOT, `${prefix}-`));
  cleanup.push(dir);
  return dir;
}

export const removeDirs = (dirs: string[]) => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));

/** Runs SQL on a SQLite file through node:sqlite (Node 22; loaded only when used). */
export async function sqliteExec(file: string, sql: string): Promise<void> {
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(file);
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}
