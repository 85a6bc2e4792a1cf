// The repository's own MikroORM config: what `npm start` and `npx mikro-orm …` use here.
// With DATABASE_URL set it talks to that PostgreSQL server; without it, to embedded
// PostgreSQL (PGlite) whose data lives in the git-ignored .fullauth-dev/pgdata.
import { defineConfig } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { defineFullauthEntities, fullauthMigrations } from './src/index.js';
import { embeddedPostgres } from './scripts/embedded-postgres.js';

export const EMBEDDED_DATA_DIR = process.env.FULLAUTH_PGLITE_DIR ?? './.fullauth-dev/pgdata';
const migrationsPath = process.env.FULLAUTH_MIGRATIONS_DIR ?? './.fullauth-dev/migrations';
const databaseUrl = process.env.DATABASE_URL;

/** Colours only on a terminal, and never with NO_COLOR set (https://no-color.org). */
const colors = process.stdout.isTTY === true && !process.env.NO_COLOR && process.env.FORCE_COLOR !== '0';

export default defineConfig({
  entities: [...defineFullauthEntities()],
  extensions: [Migrator],
  colors,
  ...(databaseUrl
    ? { clientUrl: databaseUrl, migrations: fullauthMigrations({ path: migrationsPath }) }
    : {
        dbName: 'postgres',
        // A factory, so the embedded database is opened only when MikroORM connects.
        driverOptions: () => embeddedPostgres(EMBEDDED_DATA_DIR),
        // PGlite has no savepoints: run each migration in its own transaction.
        migrations: fullauthMigrations({ path: migrationsPath, allOrNothing: false }),
      }),
});
