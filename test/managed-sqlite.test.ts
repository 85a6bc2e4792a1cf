// Managed mode on SQLite (node:sqlite): the shipped stream creates exactly the included groups,
// a group enabled later brings only its own steps, the host's naming is rendered, and several
// migrators on their own connections starting at once apply each migration exactly once
// (BEGIN IMMEDIATE: SQLite's write lock, waited for through the busy timeout).
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkFullauthSchema,
  defineFullauthEntities,
  fullauthMigrator,
  fullauthSchemaHooks,
  type FullauthGroup,
  type FullauthOptions,
} from '../src/index.js';
import { SQLITE_MIGRATIONS } from '../src/managed/sqlite.js';
import { readSqliteTables } from './support/catalogs.js';
import { SQLITE_UNSUPPORTED, initOtherOrm, removeDirs, scratchDir } from './support/databases.js';

const dirs: string[] = [];
const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
  removeDirs(dirs);
});

const file = (label: string) => join(scratchDir(`managed-sqlite-${label}`, dirs), 'app.db');

async function orm(path: string, include?: FullauthGroup[], options: FullauthOptions = {}) {
  const o = await initOtherOrm({ kind: 'sqlite', file: path }, {
    entities: [...defineFullauthEntities(include, options)],
    extensions: [fullauthSchemaHooks({ excludeFromDiff: true })],
  });
  cleanup.push(() => o.close());
  return o as never;
}

const tables = async (path: string) => (await readSqliteTables(path)).map((t) => t.name).sort();

describe.skipIf(!!SQLITE_UNSUPPORTED)(`the fullauth migration stream on SQLite${SQLITE_UNSUPPORTED ? ` (${SQLITE_UNSUPPORTED})` : ''}`, () => {
  it('creates exactly the included groups, then only what a newly enabled group adds', async () => {
    const path = file('groups');
    expect(await fullauthMigrator(await orm(path, [])).up()).toEqual(['0001_base']);
    expect(await tables(path)).toEqual(['fullauth_migrations', 'fullauth_refresh_tokens', 'fullauth_users']);
    expect(await fullauthMigrator(await orm(path, ['role', 'oauth'])).up()).toEqual(['0001_role', '0001_oauth']);
    const all = await orm(path);
    expect(await fullauthMigrator(all).status()).toEqual({
      executed: ['0001_base', '0001_oauth', '0001_role'],
      pending: ['0001_permission', '0001_passkey'],
    });
    expect(await fullauthMigrator(all).up()).toEqual(['0001_permission', '0001_passkey']);
    expect(await fullauthMigrator(all).up()).toEqual([]);
    expect((await checkFullauthSchema(all)).differences).toEqual([]);
  });

  it('renders the host naming and its own tracking table name', async () => {
    const path = file('naming');
    const options: FullauthOptions = { tablePrefix: 'auth_', tables: { FullauthUser: 'people' }, performanceIndexes: true };
    const o = await orm(path, undefined, options);
    expect(await fullauthMigrator(o, { tableName: 'auth_schema_versions' }).up()).toHaveLength(7);
    expect((await checkFullauthSchema(o)).differences).toEqual([]);
    const catalog = await readSqliteTables(path);
    expect(catalog.map((t) => t.name)).toContain('people');
    expect(catalog.map((t) => t.name)).toContain('auth_schema_versions');
    expect(catalog.find((t) => t.name === 'auth_oauth_accounts')!.foreignKeys).toEqual(['(user_id) → people(id) on update NO ACTION on delete CASCADE']);
    expect(await fullauthMigrator(o, { tableName: 'auth_schema_versions' }).down({ to: 1 })).toEqual(['0002_oauth_performance', '0002_base_performance']);
    expect((await checkFullauthSchema(await orm(path, undefined, { ...options, performanceIndexes: false }))).differences).toEqual([]);
  });

  it('lets several migrators on their own connections starting at once apply each migration exactly once (BEGIN IMMEDIATE)', async () => {
    const path = file('race');
    const runners = await Promise.all([1, 2, 3, 4].map(() => orm(path, undefined, { performanceIndexes: true })));
    const results = await Promise.all(runners.map((o) => fullauthMigrator(o).up()));
    const applied = results.flat();
    expect(applied.toSorted()).toEqual(SQLITE_MIGRATIONS.map((m) => m.name).toSorted());
    expect(new Set(applied).size).toBe(applied.length);
    expect((await checkFullauthSchema(runners[0]!)).differences).toEqual([]);
    console.log(`SQLite race: ${results.map((r) => r.length).join(' + ')} migrations applied by 4 runners`);
  });

  it('waits while another connection holds the write lock, then applies', async () => {
    const path = file('lock');
    const { DatabaseSync } = await import('node:sqlite');
    const holder = new DatabaseSync(path);
    holder.exec('begin immediate');
    const running = fullauthMigrator(await orm(path, [])).up();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await tables(path)).toEqual([]);
    holder.exec('commit');
    holder.close();
    expect(await running).toEqual(['0001_base']);
  });
});
