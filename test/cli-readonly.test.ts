// The CLI's read-only commands write nothing: `check`, `status` and `diagram` never create a
// database, schema or table; a missing database is reported by name, with a non-zero exit.
// The CLI runs as a user runs it (src/cli.ts, the repository's config or a written one), on
// PostgreSQL, PGlite, MariaDB and SQLite.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { checkFullauthSchema, defineFullauthEntities, fullauthMigrator } from '../src/index.js';
import { describePgliteConfig, describeTargets } from './support/compat.js';
import { SQLITE_UNSUPPORTED } from './support/databases.js';
import { runFullauthCli, tempDir, writeConfig, type CliResult } from './support/fullauth-cli.js';
import { MARIADB_ADMIN_URL, skipMariaDb } from './support/mariadb.js';
import { initOrm, type Target } from './support/orm.js';
import { PG_ADMIN_URL, createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

const missingName = () => `fullauth_missing_${randomBytes(4).toString('hex')}`;

/** A PostgreSQL database name no test created; dropped after the run in case a command created it after all. */
function missingPostgresName(): string {
  const name = missingName();
  cleanup.push(async () => {
    const client = new pg.Client(PG_ADMIN_URL);
    await client.connect();
    await client.query(`drop database if exists "${name}" with (force)`).finally(() => client.end());
  });
  return name;
}

function urlOf(admin: string, database: string): string {
  const url = new URL(admin);
  url.pathname = `/${database}`;
  return url.toString();
}

async function postgresDatabaseExists(name: string): Promise<boolean> {
  const client = new pg.Client(PG_ADMIN_URL);
  await client.connect();
  try {
    return (await client.query('select 1 from pg_database where datname = $1', [name])).rowCount === 1;
  } finally {
    await client.end();
  }
}

/** Every table and schema of a PostgreSQL database outside the system ones. */
async function userObjects(db: TestDatabase): Promise<{ tables: string[]; schemas: string[] }> {
  const tables = await db.sql(`select table_schema || '.' || table_name as name from information_schema.tables
    where table_schema not in ('pg_catalog', 'information_schema') order by 1`);
  const schemas = await db.sql(`select nspname from pg_namespace where nspname not like 'pg\\_%' and nspname <> 'information_schema' order by 1`);
  return { tables: tables.rows.map((r) => r.name as string), schemas: schemas.rows.map((r) => r.nspname as string) };
}

function expectMissing(result: CliResult, name: string): void {
  expect(result.status, result.output).not.toBe(0);
  expect(result.output).toContain(`mikro-orm-fullauth: database '${name}' does not exist. Nothing was created`);
}

function expectDiagram(result: CliResult): void {
  expect(result.status, result.output).toBe(0);
  expect(result.output).toMatch(/^erDiagram\n/);
}

describe.skipIf(skipPostgres)('the read-only commands on PostgreSQL', () => {
  it('report a database that does not exist by name, exit non-zero and do not create it', async () => {
    const name = missingPostgresName();
    const env = { DATABASE_URL: urlOf(PG_ADMIN_URL, name) };
    expectMissing((await runFullauthCli(['check'], env)), name);
    expectMissing((await runFullauthCli(['status'], env)), name);
    expectMissing((await runFullauthCli(['status', '--migrations-table', 'auth_versions'], env)), name);
    // The diagram is drawn from the metadata: it needs no database and opens none.
    expectDiagram((await runFullauthCli(['diagram'], env)));
    expect(await postgresDatabaseExists(name)).toBe(false);
  });

  it('create no table or schema in an existing empty database', async () => {
    const db = await createDatabase('readonly_empty');
    cleanup.push(() => db.drop());
    const before = await userObjects(db);
    const env = { DATABASE_URL: db.url };

    const status = (await runFullauthCli(['status'], env));
    expect(status.status, status.output).toBe(0);
    expect(status.output).toBe(['base', 'role', 'permission', 'oauth', 'passkey'].map((g) => `pending  0001_${g}\n`).join(''));
    const check = (await runFullauthCli(['check'], env));
    expect(check.status, check.output).toBe(1);
    expect(check.output).toContain('fullauth_users: missing table: table fullauth_users does not exist');
    expectDiagram((await runFullauthCli(['diagram'], env)));

    expect(await userObjects(db)).toEqual(before);
    expect(before.tables).toEqual([]);
  });

  it('migrate, the one command that writes, still creates a missing database (as migration:up does)', async () => {
    const name = missingPostgresName();
    const result = (await runFullauthCli(['migrate'], { DATABASE_URL: urlOf(PG_ADMIN_URL, name) }));
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('Applied 0001_base');
    expect(await postgresDatabaseExists(name)).toBe(true);
  });

  it('status reads the tracking table once migrate made it', async () => {
    const db = await createDatabase('readonly_applied');
    cleanup.push(() => db.drop());
    const env = { DATABASE_URL: db.url };
    expect((await runFullauthCli(['migrate'], env)).output).toContain('Applied 0001_base');
    const status = (await runFullauthCli(['status'], env));
    expect(status.output).toContain('applied  0001_passkey\n');
    expect(status.output).not.toContain('pending');
  });
});

describeTargets(['postgres', 'pglite'] as const, 'fullauthMigrator().status() and checkFullauthSchema() on %s', (kind) => {
  it.skipIf(kind === 'postgres' && skipPostgres)('read without creating the tracking table or the fullauth schema', async () => {
    let target: Target = { kind: 'pglite' };
    if (kind === 'postgres') {
      const db = await createDatabase('readonly_lib');
      cleanup.push(() => db.drop());
      target = { kind: 'postgres', url: db.url };
    }
    const orm = await initOrm(target, { entities: [...defineFullauthEntities(['role'], { schema: 'identity' })] });
    cleanup.push(() => orm.close(true));
    const objects = async () =>
      orm.em.getConnection().execute<{ name: string }[]>(
        `select 'schema ' || nspname as name from pg_namespace where nspname = 'identity'
         union all select 'table ' || table_schema || '.' || table_name from information_schema.tables
         where table_schema not in ('pg_catalog', 'information_schema')`,
      );

    expect(await fullauthMigrator(orm).status()).toEqual({ executed: [], pending: ['0001_base', '0001_role'] });
    expect(await fullauthMigrator(orm, { tableName: 'auth_versions' }).status()).toEqual({ executed: [], pending: ['0001_base', '0001_role'] });
    expect((await checkFullauthSchema(orm)).differences.map((d) => d.kind)).toEqual(['missing table', 'missing table', 'missing table', 'missing table']);
    expect(await objects()).toEqual([]);

    expect(await fullauthMigrator(orm).up()).toEqual(['0001_base', '0001_role']);
    expect(await fullauthMigrator(orm).status()).toEqual({ executed: ['0001_base', '0001_role'], pending: [] });
  });
});

describePgliteConfig('the read-only commands on PGlite (the repository config without DATABASE_URL)', () => {
  it('create no table', async () => {
    const { dir, remove } = tempDir('readonly-pglite');
    cleanup.push(remove);
    const dataDir = join(dir, 'pgdata');
    const env = { FULLAUTH_PGLITE_DIR: dataDir, FULLAUTH_MIGRATIONS_DIR: join(dir, 'migrations') };

    expect((await runFullauthCli(['status'], env)).output).toContain('pending  0001_base');
    expect((await runFullauthCli(['check'], env)).output).toContain('fullauth_users: missing table');
    expectDiagram((await runFullauthCli(['diagram'], env)));

    const db = new PGlite(dataDir);
    try {
      const { rows } = await db.query<{ name: string }>(
        `select table_schema || '.' || table_name as name from information_schema.tables where table_schema not in ('pg_catalog', 'information_schema')`,
      );
      expect(rows).toEqual([]);
    } finally {
      await db.close();
    }
  });
});

describe.skipIf(skipMariaDb)('the read-only commands on MariaDB', () => {
  it('report a database that does not exist by name, exit non-zero and do not create it', async () => {
    const { dir, remove } = tempDir('readonly-mariadb');
    cleanup.push(remove);
    const name = missingName();
    const config = writeConfig(dir, "import { defineConfig } from '@mikro-orm/mariadb';", 'clientUrl: process.env.DATABASE_URL,');
    const env = { DATABASE_URL: urlOf(MARIADB_ADMIN_URL, name) };

    expectMissing((await runFullauthCli(['check', '--config', config], env)), name);
    expectDiagram((await runFullauthCli(['diagram', '--config', config], env)));

    const admin = await mysql.createConnection({ uri: MARIADB_ADMIN_URL });
    try {
      const [rows] = await admin.query('select schema_name from information_schema.schemata where schema_name = ?', [name]);
      expect(rows).toEqual([]);
    } finally {
      await admin.end();
    }
  });
});

describe.skipIf(!!SQLITE_UNSUPPORTED)(`the read-only commands on SQLite (node:sqlite)${SQLITE_UNSUPPORTED ? ` (${SQLITE_UNSUPPORTED})` : ''}`, () => {
  it('report a database file that does not exist, exit non-zero and do not create it', async () => {
    const { dir, remove } = tempDir('readonly-sqlite');
    cleanup.push(remove);
    const file = join(dir, 'typo.sqlite');
    const config = writeConfig(
      dir,
      "import { NodeSqliteDialect, SqliteDriver, defineConfig } from '@mikro-orm/sql';",
      'driver: SqliteDriver, dbName: process.env.SQLITE_FILE, driverOptions: new NodeSqliteDialect(process.env.SQLITE_FILE!),',
    );
    const env = { SQLITE_FILE: file };

    expectMissing((await runFullauthCli(['check', '--config', config], env)), file);
    expectDiagram((await runFullauthCli(['diagram', '--config', config], env)));
    expect(existsSync(file)).toBe(false);
  });
});

describe.skipIf(skipPostgres)('status on a config managed mode does not cover', () => {
  it('says who migrates its tables (the host\'s Migrator) and exits 0, writing nothing', async () => {
    const db = await createDatabase('readonly_perf');
    cleanup.push(() => db.drop());
    const { dir, remove } = tempDir('readonly-perf');
    cleanup.push(remove);
    const src = join(process.cwd(), 'src/index.js');
    const config = join(dir, 'mikro-orm.config.ts');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      config,
      `import { defineConfig } from '@mikro-orm/postgresql';\nimport { defineFullauthEntities } from ${JSON.stringify(src)};\n` +
        `export default defineConfig({ clientUrl: process.env.DATABASE_URL, entities: [...defineFullauthEntities(undefined, { user: { properties: { nickname: { type: 'string', nullable: true } } } })] });\n`,
    );
    const result = await runFullauthCli(['status', '--config', config], { DATABASE_URL: db.url });
    expect(result.status, result.output).toBe(0);
    expect(result.output).toContain('managed mode is not used with this config');
    expect(result.output).toContain('npx mikro-orm migration:list');
    expect(await userObjects(db)).toEqual({ tables: [], schemas: ['public'] });
    // migrate still refuses: managed mode cannot create the host's columns.
    const migrate = await runFullauthCli(['migrate', '--config', config], { DATABASE_URL: db.url });
    expect(migrate.status).toBe(1);
    expect(migrate.output).toContain('user.properties is not covered');
  });
});
