// The tables are the contract: what our Migrator flow creates on real PostgreSQL is, catalog
// entry for catalog entry, what the fastapi-fullauth DDL creates; and a database created by
// that DDL is adopted with zero diff.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineFullauthEntities, resolveGroups, type FullauthGroup } from '../src/index.js';
import { readAllTables } from './support/catalog.js';
import { GROUP_VARIANTS as VARIANTS, fastapiFullauthDdl } from './support/fixture.js';
import { initOrm } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const TMP_ROOT = new URL('../.fullauth-dev/test-tmp/', import.meta.url).pathname;
const databases: TestDatabase[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

async function database(label: string): Promise<TestDatabase> {
  const db = await createDatabase(label);
  databases.push(db);
  return db;
}

function tempDir(): string {
  // Inside the repo, so generated migrations resolve @mikro-orm/migrations from node_modules.
  mkdirSync(TMP_ROOT, { recursive: true });
  const dir = mkdtempSync(join(TMP_ROOT, 'migrations-'));
  dirs.push(dir);
  return dir;
}

/** Creates the tables the way a host does: initial migration, then `up`. */
async function migrate(url: string, include: readonly FullauthGroup[] | undefined): Promise<string> {
  const path = tempDir();
  const orm = await initOrm({ kind: 'postgres', url }, {
    entities: [...defineFullauthEntities(include)],
    migrations: { path },
  });
  try {
    await orm.migrator.create(undefined, false, true);
    await orm.migrator.up();
    return path;
  } finally {
    await orm.close();
  }
}


describe.skipIf(skipPostgres)('the PostgreSQL schema is the fastapi-fullauth schema', () => {
  for (const { label, include } of VARIANTS) {
    it(`${label}: the migrated catalog equals the fastapi-fullauth catalog`, async () => {
      const ours = await database('ours');
      const theirs = await database('theirs');
      await migrate(ours.url, include);
      await theirs.sql(fastapiFullauthDdl(resolveGroups(include)));
      const expected = await readAllTables(theirs.url);
      expect(expected.length).toBe(defineFullauthEntities(include).length);
      expect(await readAllTables(ours.url)).toEqual(expected);
    });
  }

  it('has no server-side default, uuid ids, timestamptz times and cascading foreign keys without ON UPDATE', async () => {
    const db = await database('rules');
    await migrate(db.url, undefined);
    const tables = await readAllTables(db.url);
    const columns = tables.flatMap((t) => t.columns.map((c) => ({ table: t.name, ...c })));
    expect(columns.filter((c) => c.default !== null)).toEqual([]);
    expect(columns.filter((c) => c.name === 'id').map((c) => c.type)).toEqual(Array(6).fill('uuid'));
    expect(columns.filter((c) => c.name.endsWith('_at')).every((c) => c.type === 'timestamp with time zone')).toBe(true);
    const foreignKeys = tables.flatMap((t) => t.constraints.filter((c) => c.kind === 'f'));
    expect(foreignKeys).toHaveLength(7);
    for (const fk of foreignKeys) {
      expect(fk.definition).toMatch(/ ON DELETE CASCADE$/);
      expect(fk.definition).not.toMatch(/ON UPDATE/);
      expect(fk.name).toMatch(/^fullauth_\w+_(user|role|permission)_id_fkey$/);
    }
    for (const table of tables) {
      expect(table.constraints.find((c) => c.kind === 'p')?.name).toBe(`${table.name}_pkey`);
    }
    expect(tables.flatMap((t) => t.constraints.filter((c) => c.kind === 'u').map((c) => c.name))).toEqual([
      'uq_oauth_provider_user',
    ]);
    expect(tables.flatMap((t) => t.indexes.map((i) => i.name)).sort()).toEqual([
      'ix_fullauth_passkeys_credential_id',
      'ix_fullauth_passkeys_user_id',
      'ix_fullauth_permissions_name',
      'ix_fullauth_refresh_tokens_family_id',
      'ix_fullauth_refresh_tokens_token',
      'ix_fullauth_roles_name',
      'ix_fullauth_users_email',
    ]);
  });

  it('adopts a database created by fastapi-fullauth with zero diff', async () => {
    const db = await database('adopt');
    await db.sql(fastapiFullauthDdl(resolveGroups(undefined)));
    const path = tempDir();
    const orm = await initOrm({ kind: 'postgres', url: db.url }, {
      entities: [...defineFullauthEntities()],
      migrations: { path, snapshot: false },
    });
    try {
      expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
      const created = await orm.migrator.create();
      expect(created.diff.up).toEqual([]);
      expect(created.fileName).toBe('');
      expect(readdirSync(path)).toEqual([]);
    } finally {
      await orm.close();
    }
  });

  it('adopts a database created with fewer groups, adding only the missing tables', async () => {
    const db = await database('grow');
    await db.sql(fastapiFullauthDdl(['base']));
    const orm = await initOrm({ kind: 'postgres', url: db.url }, { entities: [...defineFullauthEntities(['role'])] });
    try {
      const sql = await orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(sql).toContain('create table "fullauth_roles"');
      expect(sql).toContain('create table "fullauth_user_roles"');
      expect(sql).not.toMatch(/create table "fullauth_users"|alter table "fullauth_users"|fullauth_refresh_tokens/);
    } finally {
      await orm.close();
    }
  });
});
