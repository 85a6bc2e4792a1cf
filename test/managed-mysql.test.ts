// Managed mode on MariaDB (the MySQL family): the shipped stream creates exactly the included
// groups, a group enabled later brings only its own steps, the host's naming is rendered
// (MySQL's own `<table>_ibfk_<n>` foreign-key names included), and several migrators starting
// at once apply each migration exactly once (GET_LOCK).
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkFullauthSchema,
  defineFullauthEntities,
  fullauthMigrator,
  fullauthSchemaHooks,
  type FullauthGroup,
  type FullauthOptions,
} from '../src/index.js';
import { MYSQL_MIGRATIONS } from '../src/managed/mysql.js';
import { initOtherOrm } from './support/databases.js';
import { MYSQL_FAMILY, createMariaDb, type MySqlFamily, type TestMariaDb } from './support/mariadb.js';
import { readMySqlTables } from './support/catalogs.js';
import { fastapiFullauthDdl } from './support/fixture.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

let server: MySqlFamily = 'mariadb';

async function database(label: string): Promise<TestMariaDb> {
  const db = await createMariaDb(label, server);
  cleanup.push(() => db.drop());
  return db;
}

async function orm(db: TestMariaDb, include?: FullauthGroup[], options: FullauthOptions = {}) {
  const o = await initOtherOrm({ kind: server, url: db.url }, {
    entities: [...defineFullauthEntities(include, options)],
    extensions: [fullauthSchemaHooks({ excludeFromDiff: true })],
  });
  cleanup.push(() => o.close());
  return o as never;
}

const tables = async (db: TestMariaDb) => (await db.sql('show tables')).map((r) => String(Object.values(r)[0])).sort();

for (const kind of ['mariadb', 'mysql'] as const) {
  const { name, skip } = MYSQL_FAMILY[kind];
  describe.skipIf(!!skip)(`the fullauth migration stream on ${name}${skip ? ` (skipped: ${skip})` : ''}`, () => {
    beforeAll(() => {
      server = kind;
    });

    it('creates exactly the included groups, then only what a newly enabled group adds', async () => {
      const db = await database('managed_my');
      expect(await fullauthMigrator(await orm(db, [])).up()).toEqual(['0001_base']);
      expect(await tables(db)).toEqual(['fullauth_migrations', 'fullauth_refresh_tokens', 'fullauth_users']);
      expect(await fullauthMigrator(await orm(db, ['role', 'oauth'])).up()).toEqual(['0001_role', '0001_oauth']);
      const all = await orm(db);
      expect(await fullauthMigrator(all).status()).toEqual({
        executed: ['0001_base', '0001_oauth', '0001_role'],
        pending: ['0001_permission', '0001_passkey'],
      });
      expect(await fullauthMigrator(all).up()).toEqual(['0001_permission', '0001_passkey']);
      expect(await fullauthMigrator(all).up()).toEqual([]);
      expect((await checkFullauthSchema(all)).differences).toEqual([]);
      const rows = await db.sql('select name, executed_at from fullauth_migrations order by name');
      expect(rows.map((r) => r.name)).toEqual(['0001_base', '0001_oauth', '0001_passkey', '0001_permission', '0001_role']);
      // The server's catalog equals that of fastapi-fullauth's own DDL there (MySQL: no ON UPDATE RESTRICT).
      const theirs = await database('managed_my_theirs');
      await theirs.sql(fastapiFullauthDdl(['base', 'role', 'permission', 'oauth', 'passkey'], 'mysql'));
      expect((await readMySqlTables(db)).filter((t) => t.name !== 'fullauth_migrations')).toEqual(await readMySqlTables(theirs));
    });

    it('renders the host naming, its foreign-key names included, and its own tracking table name', async () => {
      const db = await database('managed_my_naming');
      const options: FullauthOptions = { tablePrefix: 'auth_', tables: { FullauthUser: 'people' }, performanceIndexes: true };
      const o = await orm(db, undefined, options);
      expect(await fullauthMigrator(o, { tableName: 'auth_schema_versions' }).up()).toHaveLength(7);
      expect((await checkFullauthSchema(o)).differences).toEqual([]);
      expect(await tables(db)).toContain('people');
      expect(await tables(db)).toContain('auth_schema_versions');
      const keys = await db.sql(`select constraint_name as name from information_schema.referential_constraints where constraint_schema = database() order by 1`);
      expect(keys.map((k) => k.name)).toContain('auth_refresh_tokens_ibfk_1');
      expect(await fullauthMigrator(o, { tableName: 'auth_schema_versions' }).down({ to: 1 })).toEqual(['0002_oauth_performance', '0002_base_performance']);
      expect((await checkFullauthSchema(await orm(db, undefined, { ...options, performanceIndexes: false }))).differences).toEqual([]);
    });

    it('lets several migrators starting at once apply each migration exactly once (GET_LOCK)', async () => {
      const db = await database('managed_my_race');
      const runners = await Promise.all([1, 2, 3, 4].map(() => orm(db, undefined, { performanceIndexes: true })));
      const results = await Promise.all(runners.map((o) => fullauthMigrator(o).up()));
      const applied = results.flat();
      expect(applied.toSorted()).toEqual(MYSQL_MIGRATIONS.map((m) => m.name).toSorted());
      expect(new Set(applied).size).toBe(applied.length);
      const rows = await db.sql('select name from fullauth_migrations');
      expect(rows).toHaveLength(MYSQL_MIGRATIONS.length);
      expect((await checkFullauthSchema(runners[0]!)).differences).toEqual([]);
      // The lock is free again: a fifth runner finds nothing to do at once.
      expect(await fullauthMigrator(runners[0]!).up()).toEqual([]);
      console.log(`MariaDB race: ${results.map((r) => r.length).join(' + ')} migrations applied by 4 runners`);
    });

    it('waits while another session holds the stream lock, then applies', async () => {
      const db = await database('managed_my_lock');
      const holder = await mysql.createConnection({ uri: db.url });
      cleanup.push(() => holder.end());
      const [[held]] = (await holder.query(`select get_lock('fullauth:${db.name}.fullauth_migrations', 10) as got`)) as unknown as [[{ got: number }]];
      expect(held.got).toBe(1);
      const running = fullauthMigrator(await orm(db, [])).up();
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await tables(db)).toEqual([]);
      await holder.query(`do release_lock('fullauth:${db.name}.fullauth_migrations')`);
      expect(await running).toEqual(['0001_base']);
    });

    it('refuses what it cannot do before writing anything', async () => {
      const db = await database('managed_my_errors');
      await expect(orm(db, [], { schema: 'auth' })).rejects.toThrow(/schema/);
      expect(await tables(db)).toEqual([]);
    });
  });
}
