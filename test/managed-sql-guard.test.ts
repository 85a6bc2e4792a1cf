// For a DBA and for start-up: `mikro-orm-fullauth sql` prints the pending managed SQL without
// applying it (the printed script, run by hand, is what `migrate` would have done), and
// assertFullauthSchema() refuses to start on drift or pending managed migrations. The CLI runs
// as a user runs it (src/cli.ts with a written config); the documented guard is run as written.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FullauthConfigError,
  assertFullauthSchema,
  checkFullauthSchema,
  defineFullauthEntities,
  fullauthMigrator,
  fullauthSchemaHooks,
  type FullauthOptions,
} from '../src/index.js';
import { FullauthSchemaNotReadyError } from '../src/startup-guard.js';
import { SQLITE_UNSUPPORTED, initOtherOrm } from './support/databases.js';
import { ROOT, runFullauthCli, tempDir } from './support/fullauth-cli.js';
import { createMariaDb, skipMariaDb, type TestMariaDb } from './support/mariadb.js';
import { initOrm } from './support/orm.js';
import { PG_ADMIN_URL, createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';
import { runCommand } from './support/spawn.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

async function pgDatabase(label: string): Promise<TestDatabase> {
  const db = await createDatabase(label);
  cleanup.push(() => db.drop());
  return db;
}

async function mariaDatabase(label: string): Promise<TestMariaDb> {
  const db = await createMariaDb(label);
  cleanup.push(() => db.drop());
  return db;
}

/** A config file for the CLI: every group, managed mode, the options given. */
function managedConfig(driver: 'postgresql' | 'mariadb', options: FullauthOptions = {}): string {
  const { dir, remove } = tempDir('managed-sql');
  cleanup.push(remove);
  const file = join(dir, 'mikro-orm.config.ts');
  writeFileSync(
    file,
    `import { defineConfig } from '@mikro-orm/${driver}';\n` +
      `import { defineFullauthEntities, fullauthSchemaHooks } from ${JSON.stringify(join(ROOT, 'src/index.js'))};\n` +
      `export default defineConfig({ clientUrl: process.env.DATABASE_URL, entities: [...defineFullauthEntities(undefined, ${JSON.stringify(options)})], ` +
      `extensions: [fullauthSchemaHooks({ excludeFromDiff: true })] });\n`,
  );
  return file;
}

async function pgTables(db: TestDatabase): Promise<string[]> {
  const result = await db.sql(`select table_name from information_schema.tables where table_schema = 'public' order by 1`);
  return result.rows.map((r) => r.table_name as string);
}

const orms: { close(): Promise<void> }[] = [];
cleanup.push(() => Promise.all(orms.map((o) => o.close())));
async function pgOrm(db: TestDatabase, options: FullauthOptions = {}): Promise<MikroORM> {
  const orm = await initOrm({ kind: 'postgres', url: db.url }, {
    entities: [...defineFullauthEntities(undefined, options)],
    extensions: [fullauthSchemaHooks({ excludeFromDiff: true })],
  });
  orms.push(orm);
  return orm;
}

describe.skipIf(skipPostgres)('mikro-orm-fullauth sql on PostgreSQL', () => {
  it('prints the pending SQL without applying it; the printed script, run by a DBA, is what migrate does', async () => {
    const db = await pgDatabase('sql_pending');
    const config = managedConfig('postgresql');
    const printed = await runFullauthCli(['sql', '--config', config], { DATABASE_URL: db.url });
    expect(printed.status, printed.output).toBe(0);
    expect(printed.output).toContain('-- fullauth managed migrations for postgresql (pending in this database)');
    expect(printed.output).toContain('create table if not exists "fullauth_migrations"');
    expect(printed.output).toContain('create table "fullauth_users"');
    expect(printed.output).toContain(`insert into "fullauth_migrations" ("name", "executed_at") values ('0001_passkey', now());`);
    // Without performanceIndexes, the 0002 steps are not this config's.
    expect(printed.output).not.toContain('0002_');
    expect(await pgTables(db)).toEqual([]);

    // The DBA runs the script; the stream then has nothing left to do.
    await db.sql(printed.output);
    const orm = await pgOrm(db);
    expect(await fullauthMigrator(orm).status()).toEqual({
      executed: ['0001_base', '0001_oauth', '0001_passkey', '0001_permission', '0001_role'],
      pending: [],
    });
    expect((await checkFullauthSchema(orm)).differences).toEqual([]);
    const again = await runFullauthCli(['sql', '--config', config], { DATABASE_URL: db.url });
    expect(again.output).toContain('-- Nothing to apply.');
  });

  it('prints a version range with --from/--to without reading the database, and refuses bad versions and options first', async () => {
    const config = managedConfig('postgresql', { performanceIndexes: true });
    // The database does not exist: --from does not need it.
    const missing = `fullauth_missing_${randomBytes(4).toString('hex')}`;
    const url = new URL(PG_ADMIN_URL);
    url.pathname = `/${missing}`;
    const env = { DATABASE_URL: url.toString() };
    const upgrade = await runFullauthCli(['sql', '--config', config, '--from', '0001', '--to', '0002'], env);
    expect(upgrade.status, upgrade.output).toBe(0);
    expect(upgrade.output).toContain('-- fullauth managed migrations for postgresql after version 0001, up to version 0002');
    expect(upgrade.output.match(/^-- 000\d_\w+$/gm)).toEqual(['-- 0002_base_performance', '-- 0002_oauth_performance']);
    expect(upgrade.output).toContain('create index "ix_fullauth_refresh_tokens_user_id" on "fullauth_refresh_tokens" ("user_id");');
    const first = await runFullauthCli(['sql', '--config', config, '--from', '0', '--to', '1'], env);
    expect(first.output.match(/^-- 000\d_\w+$/gm)).toEqual(['0001_base', '0001_role', '0001_permission', '0001_oauth', '0001_passkey'].map((n) => `-- ${n}`));
    // Without --from the database is read, and must exist.
    const pending = await runFullauthCli(['sql', '--config', config], env);
    expect(pending.status).toBe(1);
    expect(pending.output).toContain(`database '${missing}' does not exist`);

    const bad = await runFullauthCli(['sql', '--config', config, '--from', '0007'], env);
    expect(bad.status).toBe(1);
    expect(bad.output).toContain("from must be a version of the fullauth stream, got '0007'. Valid: 0000, 0001, 0002");
    const backwards = await runFullauthCli(['sql', '--config', config, '--from', '2', '--to', '1'], env);
    expect(backwards.output).toContain('to (0001) is before from (0002)');
    const word = await runFullauthCli(['sql', '--from', 'latest'], env);
    expect(word.output).toContain("--from must be a version of the fullauth stream such as 0001 (0000: before the first migration), got 'latest'");
    const elsewhere = await runFullauthCli(['status', '--to', '0002'], env);
    expect(elsewhere.output).toContain("--to applies to the sql command only, not to 'status'");
    const table = await runFullauthCli(['check', '--migrations-table', 'x'], env);
    expect(table.output).toContain("--migrations-table applies to migrate, status and sql, not to 'check'");
    for (const result of [bad, backwards, word, elsewhere, table]) expect(result.status).toBe(1);
    // Nothing created the database.
    const admin = new pg.Client(PG_ADMIN_URL);
    await admin.connect();
    const found = await admin.query('select 1 from pg_database where datname = $1', [missing]).finally(() => admin.end());
    expect(found.rowCount).toBe(0);
  });
});

describe.skipIf(skipMariaDb)('mikro-orm-fullauth sql on MariaDB', () => {
  it('prints the pending SQL without applying it; the printed script, run by hand, is what migrate does', async () => {
    const db = await mariaDatabase('sql_pending');
    const config = managedConfig('mariadb', { performanceIndexes: true });
    const printed = await runFullauthCli(['sql', '--config', config], { DATABASE_URL: db.url });
    expect(printed.status, printed.output).toBe(0);
    expect(printed.output).toContain('create table if not exists `fullauth_migrations`');
    expect(printed.output).toContain("do get_lock(left(concat('fullauth:', database(), '.', 'fullauth_migrations'), 64), 600);");
    expect(await db.sql('show tables')).toEqual([]);
    await db.sql(printed.output);
    const orm = await initOtherOrm({ kind: 'mariadb', url: db.url }, {
      entities: [...defineFullauthEntities(undefined, { performanceIndexes: true })],
      extensions: [fullauthSchemaHooks({ excludeFromDiff: true })],
    });
    orms.push(orm);
    expect((await fullauthMigrator(orm as never).status()).pending).toEqual([]);
    expect((await checkFullauthSchema(orm)).differences).toEqual([]);
  });
});

describe.skipIf(!!SQLITE_UNSUPPORTED)(`mikro-orm-fullauth sql and assertFullauthSchema() on SQLite${SQLITE_UNSUPPORTED ? ` (${SQLITE_UNSUPPORTED})` : ''}`, () => {
  it('prints the pending SQL without applying it; the printed script, run by hand, is what migrate does; the guard then passes', async () => {
    const { dir, remove } = tempDir('managed-sql-sqlite');
    cleanup.push(remove);
    const file = join(dir, 'app.db');
    const config = join(dir, 'mikro-orm.config.ts');
    writeFileSync(
      config,
      `import { defineConfig } from '@mikro-orm/sql';\n` +
        `import { defineFullauthEntities, fullauthSchemaHooks, fullauthSqlite } from ${JSON.stringify(join(ROOT, 'src/index.js'))};\n` +
        `import { SqliteDriver } from '@mikro-orm/sql';\n` +
        `export default defineConfig({ driver: SqliteDriver, dbName: ${JSON.stringify(file)}, driverOptions: fullauthSqlite({ file: ${JSON.stringify(file)} }), ` +
        `entities: [...defineFullauthEntities(undefined, { performanceIndexes: true })], extensions: [fullauthSchemaHooks({ excludeFromDiff: true })] });\n`,
    );
    // --from: the database file is not opened (nor created).
    const printed = await runFullauthCli(['sql', '--config', config, '--from', '0000']);
    expect(printed.status, printed.output).toBe(0);
    expect(printed.output).toContain('-- fullauth managed migrations for sqlite after version 0000');
    expect(printed.output).toContain('begin immediate;');
    expect(printed.output).toContain('constraint uq_oauth_provider_user unique (provider, provider_user_id)');
    expect(existsSync(file)).toBe(false);

    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(file);
    db.exec(printed.output);
    db.close();
    const orm = await initOtherOrm({ kind: 'sqlite', file }, {
      entities: [...defineFullauthEntities(undefined, { performanceIndexes: true })],
      extensions: [fullauthSchemaHooks({ excludeFromDiff: true })],
    });
    orms.push(orm);
    expect((await fullauthMigrator(orm as never).status()).pending).toEqual([]);
    await expect(assertFullauthSchema(orm as never)).resolves.toBeUndefined();
    const again = await runFullauthCli(['sql', '--config', config]);
    expect(again.output).toContain('-- Nothing to apply.');

    // Reverted to 0001 by the application's own migrator: the guard names what is pending.
    await fullauthMigrator(orm as never).down({ to: 1 });
    await expect(assertFullauthSchema(orm as never)).rejects.toThrow(/Managed fullauth migrations pending: 0002_base_performance, 0002_oauth_performance\./);
  });
});

describe.skipIf(skipPostgres)('assertFullauthSchema() on PostgreSQL', () => {
  it('refuses to start on missing tables, pending managed migrations and drift, and passes when all is in place', async () => {
    const db = await pgDatabase('guard');
    const v1 = await pgOrm(db);
    // Nothing there: every table is reported missing.
    const empty = await assertFullauthSchema(v1).then(() => undefined, (e: unknown) => e);
    expect(empty).toBeInstanceOf(FullauthSchemaNotReadyError);
    expect((empty as FullauthSchemaNotReadyError).report.differences.filter((d) => d.kind === 'missing table')).toHaveLength(8);
    // managed: true counts the whole stream as pending.
    await expect(assertFullauthSchema(v1, { managed: true })).rejects.toThrow(/Managed fullauth migrations pending: 0001_base, 0001_role, 0001_permission, 0001_oauth, 0001_passkey\./);
    await fullauthMigrator(v1).up();
    await expect(assertFullauthSchema(v1)).resolves.toBeUndefined();
    expect(await pgTables(db)).toContain('fullauth_migrations');

    // The application upgrades to performanceIndexes: pending steps and the indexes they add.
    const v2 = await pgOrm(db, { performanceIndexes: true });
    const pending = (await assertFullauthSchema(v2).then(() => undefined, (e: unknown) => e)) as FullauthSchemaNotReadyError;
    expect(pending.pending).toEqual(['0002_base_performance', '0002_oauth_performance']);
    expect(pending.message).toContain('The fullauth tables are not ready; refusing to start.');
    expect(pending.message).toContain('Managed fullauth migrations pending: 0002_base_performance, 0002_oauth_performance. Apply them with `npx mikro-orm-fullauth migrate`');
    expect(pending.message).toContain('fullauth_refresh_tokens: missing index: index ix_fullauth_refresh_tokens_user_id (user_id)');
    await fullauthMigrator(v2).up();
    await expect(assertFullauthSchema(v2)).resolves.toBeUndefined();

    // Drift outside the stream: a dropped index.
    await db.sql('drop index ix_fullauth_refresh_tokens_family_id');
    await expect(assertFullauthSchema(v2)).rejects.toThrow(/fullauth_refresh_tokens: missing index: index ix_fullauth_refresh_tokens_family_id \(family_id\)/);
    // managed: false leaves the stream out, not the drift.
    await expect(assertFullauthSchema(v2, { managed: false })).rejects.toThrow(/ix_fullauth_refresh_tokens_family_id/);
  });

  it('refuses bad options before reading anything', async () => {
    const db = await pgDatabase('guard_options');
    const orm = await pgOrm(db);
    await expect(assertFullauthSchema(orm, { managed: 'yes' as never })).rejects.toThrow(/managed must be true or false, got 'yes'/);
    await expect(assertFullauthSchema(orm, { strict: true } as never)).rejects.toThrow(/Unknown assertFullauthSchema\(\) option: 'strict'. Valid: managed, migrationsTable/);
    await expect(assertFullauthSchema(orm, { migrationsTable: 'Bad Name' })).rejects.toThrow(FullauthConfigError);
    await expect(assertFullauthSchema({} as never)).rejects.toThrow(/needs a MikroORM instance/);
    expect(await pgTables(db)).toEqual([]);
  });

  it('runs as documented in docs/managed-mode.md: exits 1 with the report, then starts once migrated', async () => {
    const db = await pgDatabase('guard_doc');
    const page = readFileSync(join(ROOT, 'docs/managed-mode.md'), 'utf8');
    const snippet = [...page.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!).find((s) => s.includes('assertFullauthSchema(orm)'));
    expect(snippet, 'docs/managed-mode.md has the start-up guard example').toBeDefined();
    const { dir, remove } = tempDir('guard-doc');
    cleanup.push(remove);
    const file = join(dir, 'start.ts');
    writeFileSync(file, snippet!.replaceAll("'mikro-orm-fullauth'", JSON.stringify(join(ROOT, 'src/index.js'))));
    const env = { ...process.env, DATABASE_URL: db.url, NO_COLOR: '1' };
    const refused = await runCommand(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env });
    expect(refused.status, refused.output).toBe(1);
    expect(refused.output).toContain('The fullauth tables are not ready; refusing to start.');
    expect(refused.output).toContain('missing table');
    await fullauthMigrator(await pgOrm(db)).up();
    const started = await runCommand(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env });
    expect(started.status, started.output).toBe(0);
    expect(started.stdout).toContain('fullauth schema ready');
  });
});

describe.skipIf(skipMariaDb)('assertFullauthSchema() on MariaDB', () => {
  it('refuses pending managed migrations and drift, and passes once migrated', async () => {
    const db = await mariaDatabase('guard');
    const orm = await initOtherOrm({ kind: 'mariadb', url: db.url }, {
      entities: [...defineFullauthEntities(['oauth'], { performanceIndexes: true })],
      extensions: [fullauthSchemaHooks({ excludeFromDiff: true })],
    });
    orms.push(orm);
    await fullauthMigrator(orm as never).up({ to: 1 });
    const pending = (await assertFullauthSchema(orm as never).then(() => undefined, (e: unknown) => e)) as FullauthSchemaNotReadyError;
    expect(pending.pending).toEqual(['0002_base_performance', '0002_oauth_performance']);
    await fullauthMigrator(orm as never).up();
    await expect(assertFullauthSchema(orm as never)).resolves.toBeUndefined();
    await db.sql('alter table fullauth_users modify email varchar(255) not null');
    await expect(assertFullauthSchema(orm as never)).rejects.toThrow(/fullauth_users: column differs: email: type is "varchar\(255\)", expected "varchar\(320\)"/);
  });
});
