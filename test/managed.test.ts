// Managed mode: the shipped fullauth migration stream, its own tracking table, groups
// enabled later, a later package version on top, naming and schema, drift against the entities.
import { EntitySchema } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FULLAUTH_GROUPS,
  FullauthConfigError,
  checkFullauthSchema,
  defineFullauthEntities,
  fullauthMigrator,
  fullauthSchemaHooks,
  type FullauthGroup,
  type FullauthOptions,
} from '../src/index.js';
import { POSTGRESQL_MIGRATIONS } from '../src/managed/postgresql.js';
import { MYSQL_MIGRATIONS } from '../src/managed/mysql.js';
import { SQLITE_MIGRATIONS } from '../src/managed/sqlite.js';
import { SQLITE_UNSUPPORTED } from './support/databases.js';
import { regenerateMigrations } from '../scripts/managed-migrations.js';
import { findDestructiveStatements } from '../src/guard.js';
import { skipMariaDb } from './support/mariadb.js';
import { readAllTables } from './support/catalog.js';
import { fastapiFullauthDdl } from './support/fixture.js';
import { offlineOrm } from './support/compat.js';
import { initOrm, type Target } from './support/orm.js';
import { PG_ADMIN_URL, createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const databases: TestDatabase[] = [];
const orms: MikroORM[] = [];
afterAll(async () => {
  await Promise.all(orms.map((o) => o.close()));
  await Promise.all(databases.map((db) => db.drop()));
});

async function database(label: string): Promise<TestDatabase> {
  const db = await createDatabase(label);
  databases.push(db);
  return db;
}

async function orm(target: Target, include?: FullauthGroup[], options: FullauthOptions = {}, extra: EntitySchema[] = []) {
  const o = await initOrm(target, {
    entities: [...defineFullauthEntities(include, options), ...extra],
    extensions: [fullauthSchemaHooks({ excludeFromDiff: true })],
  });
  orms.push(o);
  return o;
}

describe('the shipped migrations', () => {
  it.skipIf(skipPostgres)('match the entity definitions on PostgreSQL (regenerating them, downs included, changes nothing)', async () => {
    expect(await regenerateMigrations('postgresql', POSTGRESQL_MIGRATIONS, { postgresqlUrl: PG_ADMIN_URL })).toEqual(POSTGRESQL_MIGRATIONS);
  });

  it.skipIf(skipMariaDb)('match the entity definitions on MariaDB (regenerating them, downs included, changes nothing)', async () => {
    expect(await regenerateMigrations('mysql', MYSQL_MIGRATIONS)).toEqual(MYSQL_MIGRATIONS);
  });

  it.skipIf(!!SQLITE_UNSUPPORTED)(`match the entity definitions on SQLite (regenerating them, downs included, changes nothing)${SQLITE_UNSUPPORTED ? ` (${SQLITE_UNSUPPORTED})` : ''}`, async () => {
    expect(await regenerateMigrations('sqlite', SQLITE_MIGRATIONS)).toEqual(SQLITE_MIGRATIONS);
  });

  it('cover every group, in order, then the performance indexes as version 0002, on every database', () => {
    const names = [...FULLAUTH_GROUPS.map((g) => `0001_${g}`), '0002_base_performance', '0002_oauth_performance'];
    expect(POSTGRESQL_MIGRATIONS.map((m) => m.name)).toEqual(names);
    expect(MYSQL_MIGRATIONS.map((m) => m.name)).toEqual(names);
    expect(SQLITE_MIGRATIONS.map((m) => m.name)).toEqual(names);
    for (const m of [...POSTGRESQL_MIGRATIONS, ...MYSQL_MIGRATIONS, ...SQLITE_MIGRATIONS]) {
      expect(m.down?.length, m.name).toBeGreaterThan(0);
      // No up drops or narrows an auth table or column (the guard of the host's migrations agrees).
      expect(findDestructiveStatements(m.up, { isFullauth: (t) => t.includes('__fa__') }), m.name).toEqual([]);
      // A host table's foreign key to a fullauth table stops a down; it is never dropped with it.
      expect(m.down!.filter((s) => / cascade$/i.test(s))).toEqual([]);
    }
  });
});

describe.skipIf(skipPostgres)('the fullauth migration stream on PostgreSQL', () => {
  it('creates exactly the included groups, then only what a newly enabled group adds', async () => {
    const db = await database('managed');
    const target: Target = { kind: 'postgres', url: db.url };
    expect(await fullauthMigrator(await orm(target, [])).up()).toEqual(['0001_base']);
    expect((await readAllTables(db.url)).map((t) => t.name).sort()).toEqual([
      'fullauth_migrations',
      'fullauth_refresh_tokens',
      'fullauth_users',
    ]);
    expect(await fullauthMigrator(await orm(target, ['role', 'oauth'])).up()).toEqual(['0001_role', '0001_oauth']);
    const all = await orm(target);
    expect(await fullauthMigrator(all).status()).toEqual({
      executed: ['0001_base', '0001_oauth', '0001_role'],
      pending: ['0001_permission', '0001_passkey'],
    });
    expect(await fullauthMigrator(all).up()).toEqual(['0001_permission', '0001_passkey']);
    expect(await fullauthMigrator(all).up()).toEqual([]);

    const contract = await database('managed_contract');
    await contract.sql(fastapiFullauthDdl(FULLAUTH_GROUPS));
    const ours = (await readAllTables(db.url)).filter((t) => t.name !== 'fullauth_migrations');
    expect(ours).toEqual(await readAllTables(contract.url));
    expect((await checkFullauthSchema(all)).differences).toEqual([]);
  });

  it('applies a later package version on top', async () => {
    const db = await database('managed_v2');
    const o = await orm({ kind: 'postgres', url: db.url }, []);
    expect(await fullauthMigrator(o).up()).toEqual(['0001_base']);
    const v2 = [
      ...POSTGRESQL_MIGRATIONS,
      { name: '0002_base', group: 'base' as const, up: ['alter table "__fa__users" add column "last_login_at" timestamptz null'] },
      { name: '0002_role', group: 'role' as const, up: ['alter table "__fa__roles" add column "label" text null'] },
    ];
    expect(await fullauthMigrator(o, { migrations: v2 }).up()).toEqual(['0002_base']);
    const columns = await db.sql(`select column_name from information_schema.columns where table_name = 'fullauth_users' and column_name = 'last_login_at'`);
    expect(columns.rowCount).toBe(1);
    // Enabling role later brings its 0001 and 0002, in order.
    const withRole = await orm({ kind: 'postgres', url: db.url }, ['role']);
    expect(await fullauthMigrator(withRole, { migrations: v2 }).up()).toEqual(['0001_role', '0002_role']);
  });

  it('renders the host naming and schema, and keeps its own tracking table name', async () => {
    const db = await database('managed_naming');
    const options: FullauthOptions = { tablePrefix: 'auth_', schema: 'identity', tables: { FullauthUser: 'people' } };
    const o = await orm({ kind: 'postgres', url: db.url }, undefined, options);
    expect(await fullauthMigrator(o, { tableName: 'auth_schema_versions' }).up()).toHaveLength(5);
    expect((await checkFullauthSchema(o)).differences).toEqual([]);
    const tables = await db.sql(`select tablename from pg_tables where schemaname = 'identity' order by 1`);
    expect(tables.rows.map((r) => r.tablename)).toContain('people');
    expect(tables.rows.map((r) => r.tablename)).toContain('auth_schema_versions');
    const fk = await db.sql(`select conname from pg_constraint where conname = 'auth_refresh_tokens_user_id_fkey'`);
    expect(fk.rowCount).toBe(1);
  });

  it('lets concurrent runners apply each migration once', async () => {
    const db = await database('managed_race');
    const a = await orm({ kind: 'postgres', url: db.url });
    const b = await orm({ kind: 'postgres', url: db.url });
    const [x, y] = await Promise.all([fullauthMigrator(a).up(), fullauthMigrator(b).up()]);
    expect([...x, ...y].sort()).toEqual(POSTGRESQL_MIGRATIONS.filter((m) => !m.option).map((m) => m.name).sort());
  });

  it('waits while another session holds the advisory lock, then applies', async () => {
    const db = await database('managed_lock');
    const holder = new pg.Client(db.url);
    await holder.connect();
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(hashtext('"fullauth_migrations"'))`);
      const running = fullauthMigrator(await orm({ kind: 'postgres', url: db.url }, [])).up();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await readAllTables(db.url)).map((t) => t.name)).toEqual([]);
      await holder.query('commit');
      expect(await running).toEqual(['0001_base']);
    } finally {
      await holder.end();
    }
  });

  it('reverts the performance indexes in a schema of their own', async () => {
    const db = await database('managed_schema_perf');
    const options: FullauthOptions = { schema: 'identity', performanceIndexes: true };
    const o = await orm({ kind: 'postgres', url: db.url }, ['oauth'], options);
    expect(await fullauthMigrator(o).up()).toEqual(['0001_base', '0001_oauth', '0002_base_performance', '0002_oauth_performance']);
    expect((await checkFullauthSchema(o)).differences).toEqual([]);
    expect(await fullauthMigrator(o).down({ to: 1 })).toEqual(['0002_oauth_performance', '0002_base_performance']);
    expect((await checkFullauthSchema(await orm({ kind: 'postgres', url: db.url }, ['oauth'], { schema: 'identity' }))).differences).toEqual([]);
  });

  it('leaves the fullauth tables to the stream and the rest to the host Migrator', async () => {
    const db = await database('managed_host');
    interface Article {
      id: number;
    }
    const Article = new EntitySchema<Article>({ name: 'Article', tableName: 'articles', properties: { id: { type: 'integer', primary: true } } });
    const o = await orm({ kind: 'postgres', url: db.url }, undefined, {}, [Article]);
    await fullauthMigrator(o).up();
    expect(await o.schema.getUpdateSchemaSQL({ wrap: false })).toMatch(/^create table "articles"[^;]*;\s*$/);
  });

  it('names what it cannot do', async () => {
    const db = await database('managed_errors');
    const bigint = await orm({ kind: 'postgres', url: db.url }, [], { idStrategy: 'bigint' });
    expect(() => fullauthMigrator(bigint)).toThrow(/idStrategy 'bigint' is not covered: the shipped SQL is fixed .* uuid keys/);
    const extended = await orm({ kind: 'postgres', url: db.url }, [], { user: { properties: { nickname: { type: 'string', nullable: true } } } });
    expect(() => fullauthMigrator(extended)).toThrow(/user\.properties is not covered: the host's columns .* nobody would create them/);
    const plain = await orm({ kind: 'postgres', url: db.url }, []);
    await expect(fullauthMigrator(plain).up({ to: '0009' })).rejects.toThrow(/to must be a version of the fullauth stream, got '0009'. Valid: 0000, 0001, 0002/);
    await expect(fullauthMigrator(plain).down({ to: '0000' })).resolves.toEqual([]);
    await fullauthMigrator(plain).up();
    await expect(fullauthMigrator(plain).down({ to: '0000' })).rejects.toThrow(/Reverting 0001_base drops fullauth tables and every row in them\. Pass \{ to: '0000', dropTables: true \}/);
    expect((await readAllTables(db.url)).map((t) => t.name)).toContain('fullauth_users');
  });

  it('applies the performance indexes as a managed step when the option is on, alone on an installed database', async () => {
    const db = await database('managed_perf');
    const target: Target = { kind: 'postgres', url: db.url };
    expect(await fullauthMigrator(await orm(target, ['oauth'])).up()).toEqual(['0001_base', '0001_oauth']);
    const perf = await orm(target, ['oauth'], { performanceIndexes: true });
    expect((await checkFullauthSchema(perf)).differences.map((d) => `${d.kind} ${d.detail}`).sort()).toEqual([
      'missing index index ix_fullauth_oauth_accounts_user_id (user_id)',
      'missing index index ix_fullauth_refresh_tokens_expires_at (expires_at)',
      'missing index index ix_fullauth_refresh_tokens_user_id (user_id)',
    ]);
    expect(await fullauthMigrator(perf).up()).toEqual(['0002_base_performance', '0002_oauth_performance']);
    expect((await checkFullauthSchema(perf)).differences).toEqual([]);
    // Back to version 1: the indexes go, the tables stay.
    expect(await fullauthMigrator(perf).down({ to: 1 })).toEqual(['0002_oauth_performance', '0002_base_performance']);
    expect((await checkFullauthSchema(await orm(target, ['oauth']))).differences).toEqual([]);
  });
});

describe('the fullauth migration stream on PGlite', () => {
  it('applies and re-checks', async () => {
    const o = await orm({ kind: 'pglite' });
    expect(await fullauthMigrator(o).up()).toHaveLength(5);
    expect((await checkFullauthSchema(o)).ok).toBe(true);
  });
});

describe('the databases the stream ships for', () => {
  it.skipIf(!!SQLITE_UNSUPPORTED)(`are every database fullauth supports, each named by its dialect${SQLITE_UNSUPPORTED ? ` (${SQLITE_UNSUPPORTED})` : ''}`, async () => {
    const { SqliteDriver } = await import('@mikro-orm/sql');
    const sqlite = offlineOrm({ driver: SqliteDriver, dbName: ':memory:', entities: [...defineFullauthEntities([])] } as never);
    expect(fullauthMigrator(sqlite).dialect).toBe('sqlite');
    expect(fullauthMigrator(sqlite).versions).toEqual(['0001', '0002']);
    expect(() => fullauthMigrator({} as never)).toThrow(FullauthConfigError);
  });
});
