// The main job: bring the configured database to the fullauth schema through the Migrator
// (creating the initial migration when there is none), then print what it holds, group by group.
import { readdirSync, existsSync } from 'node:fs';
import { MikroORM } from '@mikro-orm/postgresql';
import config, { EMBEDDED_DATA_DIR } from '../mikro-orm.config.js';
import { FULLAUTH_ENTITY_NAMES, FULLAUTH_GROUPS, getFullauthMetadata } from '../src/index.js';
import { groupOf } from '../src/build-schema.js';
import { createMigration } from '../src/orm-compat.js';
import { formatTable, readTables } from './catalog.js';

const orm = await MikroORM.init(config);
try {
  const target = process.env.DATABASE_URL
    ? `PostgreSQL server (${new URL(process.env.DATABASE_URL).host}${new URL(process.env.DATABASE_URL).pathname})`
    : `embedded PostgreSQL (PGlite, data in ${EMBEDDED_DATA_DIR})`;
  console.log(`Database: ${target}`);
  await orm.schema.ensureDatabase();

  const migrationsPath = orm.config.get('migrations').path!;
  const hasMigrations = existsSync(migrationsPath) && readdirSync(migrationsPath).some((f) => /^Migration.*\.(ts|js)$/.test(f));
  if (!hasMigrations) {
    const created = await createMigration(orm.migrator, undefined, false, true);
    console.log(`Created the initial migration ${migrationsPath}/${created.fileName}`);
  }
  const applied = await orm.migrator.up();
  console.log(applied.length ? `Applied ${applied.map((m) => m.name).join(', ')}` : 'Migrations: up to date, nothing to apply');

  const metadata = await getFullauthMetadata(orm);
  const db = orm.em.getConnection();
  for (const group of FULLAUTH_GROUPS) {
    const tables = FULLAUTH_ENTITY_NAMES.filter((name) => groupOf(name) === group)
      .map((name) => metadata.getByClassName(name, false)?.tableName)
      .filter((table): table is string => table !== undefined);
    if (tables.length === 0) continue;
    console.log(`\ngroup ${group}`);
    for (const table of await readTables(db, tables)) console.log(formatTable(table));
  }
} finally {
  await orm.close();
}
