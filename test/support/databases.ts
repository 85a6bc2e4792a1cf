// ORMs on the other databases of the contract: MariaDB (the MySQL driver family) and SQLite
// through node:sqlite. Every ORM gets the Migrator and the bundled migration settings.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MikroORM as MariaDbORM } from '@mikro-orm/mariadb';
import { Migrator } from '@mikro-orm/migrations';
import { MikroORM as SqlORM, NodeSqliteDialect, SqliteDriver, type Options as SqlOptions } from '@mikro-orm/sql';
import { fullauthMigrations } from '../../src/index.js';

export type OtherDatabase = { kind: 'mariadb'; url: string } | { kind: 'sqlite'; file: string };
type AnyOrm = Awaited<ReturnType<typeof MariaDbORM.init>> | Awaited<ReturnType<typeof SqlORM.init>>;

export async function initOtherOrm(target: OtherDatabase, options: SqlOptions): Promise<AnyOrm> {
  const { migrations, extensions = [], ...rest } = options;
  const common = {
    extensions: [Migrator, ...extensions],
    migrations: fullauthMigrations({ silent: true, ...migrations }),
    debug: false,
    ...rest,
  };
  if (target.kind === 'mariadb') return MariaDbORM.init({ clientUrl: target.url, ...common } as never);
  return SqlORM.init({ driver: SqliteDriver, dbName: target.file, driverOptions: new NodeSqliteDialect(target.file), ...common } as never);
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
