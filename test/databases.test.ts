// MariaDB (MySQL) and SQLite hold the same tables as fastapi-fullauth there: what our
// Migrator flow creates equals, catalog entry for catalog entry, what its DDL creates; a
// database it created is adopted with zero diff; and both services read and write the same
// values (hex uuids, UTC date-times, 0/1 booleans).
import { DatabaseSync } from 'node:sqlite';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineFullauthEntities, fullauthSchemaHooks, resolveGroups, type FullauthGroup } from '../src/index.js';
import { readMySqlTables, readSqliteTables, type PortableTable } from './support/catalogs.js';
import { initOtherOrm, removeDirs, scratchDir, type OtherDatabase } from './support/databases.js';
import { fastapiFullauthDdl } from './support/fixture.js';
import { createMariaDb, skipMariaDb, type TestMariaDb } from './support/mariadb.js';

const dirs: string[] = [];
const databases: TestMariaDb[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  removeDirs(dirs);
});

const VARIANTS: { label: string; include?: FullauthGroup[] }[] = [
  { label: 'all groups' },
  { label: 'base only', include: [] },
  { label: 'role', include: ['role'] },
  { label: 'permission', include: ['permission'] },
  { label: 'oauth', include: ['oauth'] },
  { label: 'passkey', include: ['passkey'] },
];

interface Backend {
  name: string;
  skip: boolean;
  /** A fresh empty database. */
  create(label: string): Promise<{ target: OtherDatabase; run(sql: string): Promise<void>; catalog(): Promise<PortableTable[]> }>;
  fixture: 'mysql' | 'sqlite';
}

const mariadb: Backend = {
  name: 'MariaDB',
  skip: skipMariaDb,
  fixture: 'mysql',
  async create(label) {
    const db = await createMariaDb(label);
    databases.push(db);
    return {
      target: { kind: 'mariadb', url: db.url },
      run: async (sql) => void (await db.sql(sql)),
      catalog: () => readMySqlTables(db),
    };
  },
};

const sqlite: Backend = {
  name: 'SQLite (node:sqlite)',
  skip: false,
  fixture: 'sqlite',
  async create(label) {
    const file = join(scratchDir(`sqlite-${label}`, dirs), 'db.sqlite');
    return {
      target: { kind: 'sqlite', file },
      run: async (sql) => {
        const db = new DatabaseSync(file);
        db.exec(sql);
        db.close();
      },
      catalog: async () => readSqliteTables(file),
    };
  },
};

for (const backend of [mariadb, sqlite]) {
  describe.skipIf(backend.skip)(`${backend.name}: the fastapi-fullauth schema`, () => {
    /** Creates the tables the way a host does: initial migration, then `up`. */
    async function migrate(target: OtherDatabase, include: readonly FullauthGroup[] | undefined): Promise<void> {
      const orm = await initOtherOrm(target, {
        entities: [...defineFullauthEntities(include)],
        migrations: { path: scratchDir('migrations', dirs) },
      });
      try {
        await orm.migrator.create(undefined, false, true);
        await orm.migrator.up();
      } finally {
        await orm.close();
      }
    }

    for (const { label, include } of VARIANTS) {
      it(`${label}: the migrated catalog equals the fastapi-fullauth catalog`, async () => {
        const ours = await backend.create('ours');
        const theirs = await backend.create('theirs');
        await migrate(ours.target, include);
        await theirs.run(fastapiFullauthDdl(resolveGroups(include), backend.fixture));
        const expected = await theirs.catalog();
        expect(expected.length).toBe(defineFullauthEntities(include).length);
        expect(await ours.catalog()).toEqual(expected);
      });
    }

    it('adopts a database created by fastapi-fullauth with zero diff', async () => {
      const db = await backend.create('adopt');
      await db.run(fastapiFullauthDdl(resolveGroups(undefined), backend.fixture));
      const path = scratchDir('adopt', dirs);
      const orm = await initOtherOrm(db.target, {
        entities: [...defineFullauthEntities()],
        extensions: [fullauthSchemaHooks()],
        migrations: { path, snapshot: false },
      });
      try {
        expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
        const created = await orm.migrator.create();
        expect(created.diff.up).toEqual([]);
      } finally {
        await orm.close();
      }
    });
  });
}
