// The auth store on each database for the shared suites (test/support/store-suites.ts, called by
// test/store.test.ts, test/store-mysql.test.ts and test/store-sqlite.test.ts): each test gets its
// own database (PostgreSQL, MariaDB and MySQL: a database created and dropped; PGlite: a fresh
// instance; SQLite: a file in WAL mode in a scratch folder, removed afterwards) and, on SQLite, several ORMs on that
// file (several connections) so that races cross connections. SQLite is node:sqlite on
// MikroORM 7 and libSQL on MikroORM 6 (`initOtherOrm()`): on MikroORM 7, `sqlite` is the config
// docs/sqlite.md gives the store's users (`fullauthSqlite()`, whose statements skip Kysely) and
// `sqlite-plain` MikroORM's own `NodeSqliteDialect` (the store's statements through Kysely).
import { join } from 'node:path';
import { createFullauthStore, defineFullauthEntities, type FullauthGroup, type FullauthOptions, type FullauthStore } from '../../src/index.js';
import { initOtherOrm, openSqlite, removeDirs, scratchDir, sqliteExec } from './databases.js';
import { createMariaDb, type TestMariaDb } from './mariadb.js';
import { initOrm } from './orm.js';
import { createDatabase, type TestDatabase } from './postgres.js';

export type StoreKind = 'postgres' | 'pglite' | 'mariadb' | 'mysql' | 'sqlite' | 'sqlite-plain';
type Orm = Awaited<ReturnType<typeof initOtherOrm>>;

export interface StoreTarget {
  kind: StoreKind;
  /** The first ORM, and its store. */
  orm: Orm;
  store: FullauthStore;
  /** One store per ORM (SQLite: one connection each; MariaDB: one pool each). */
  stores: FullauthStore[];
  /** SQLite: the database file. */
  file?: string;
  /** Rows of a statement run beside the ORMs (its own connection), values bound. */
  sql(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** How many unrevoked tokens match `where` (values as `key()` gives ids). */
  live(where: string, params: unknown[]): Promise<number>;
  /** An id as its column holds it: a uuid on PostgreSQL, 32 hex digits on MariaDB and SQLite. */
  key(id: string): string;
}

export const hex = (id: string) => id.replace(/-/g, '');

const open: { orms: Orm[]; dbs: (TestMariaDb | TestDatabase)[]; dirs: string[] } = { orms: [], dbs: [], dirs: [] };

/** Closes every ORM and drops every database made since the last call. */
export async function cleanUp(): Promise<void> {
  await Promise.all(open.orms.splice(0).map((orm) => orm.close()));
  await Promise.all(open.dbs.splice(0).map((db) => db.drop()));
  removeDirs(open.dirs.splice(0));
}

export async function storeTarget(
  kind: StoreKind,
  include: FullauthGroup[] | undefined = [],
  options: { entities?: FullauthOptions; orms?: number; pool?: number; store?: Parameters<typeof createFullauthStore>[1]; encoding?: 'LATIN1' } = {},
): Promise<StoreTarget> {
  const entities = [...defineFullauthEntities(include, options.entities)];
  const count = options.orms ?? (kind === 'mariadb' || kind === 'mysql' ? 1 : 4);
  if (kind === 'postgres' || kind === 'pglite') {
    // One ORM (PostgreSQL: a pool; PGlite: one in-process database, on MikroORM 6 a pool of one connection to its socket server, orm.ts); the races on PostgreSQL are test/store-races.test.ts.
    let url = '';
    if (kind === 'postgres') {
      const db = await createDatabase('store', { encoding: options.encoding });
      open.dbs.push(db);
      url = db.url;
    }
    const orm = (await initOrm(kind === 'postgres' ? { kind, url } : { kind }, { entities, pool: { max: options.pool ?? 20 } })) as unknown as Orm;
    open.orms.push(orm);
    await orm.schema.create();
    const store = createFullauthStore(orm.em, options.store);
    const sql = (text: string, params: unknown[] = []) => orm.em.fork().getConnection().execute<Record<string, unknown>[]>(text, params);
    return {
      kind,
      orm,
      store,
      stores: [store],
      sql,
      key: (id) => id,
      live: async (where, params) => Number((await sql(`select count(*) as n from fullauth_refresh_tokens where not revoked and ${where}`, params))[0]!.n),
    };
  }
  if (kind === 'mariadb' || kind === 'mysql') {
    const db = await createMariaDb('store', kind);
    open.dbs.push(db);
    const orms: Orm[] = [];
    for (let i = 0; i < count; i++) {
      const orm = await initOtherOrm({ kind, url: db.url }, { entities, pool: { max: options.pool ?? 20 } } as never);
      open.orms.push(orm);
      orms.push(orm);
    }
    await orms[0]!.schema.create();
    const stores = orms.map((orm) => createFullauthStore(orm.em, options.store));
    const sql = (text: string, params: unknown[] = []) => db.sql(text, params);
    return {
      kind,
      orm: orms[0]!,
      store: stores[0]!,
      stores,
      sql,
      key: hex,
      live: async (where, params) => Number((await sql(`select count(*) as n from fullauth_refresh_tokens where revoked = 0 and ${where}`, params))[0]!.n),
    };
  }
  const dir = scratchDir('store-sqlite', open.dirs);
  const file = join(dir, 'fullauth.db');
  // WAL: readers run beside the writer; kept in the file for every later connection.
  await sqliteExec(file, 'pragma journal_mode = wal');
  const orms: Orm[] = [];
  for (let i = 0; i < count; i++) {
    const orm = await initOtherOrm({ kind: 'sqlite', file, dialect: kind === 'sqlite' ? 'fullauth' : 'node' }, { entities } as never);
    open.orms.push(orm);
    orms.push(orm);
  }
  await orms[0]!.schema.create();
  const stores = orms.map((orm) => createFullauthStore(orm.em, options.store));
  const sql = async (text: string, params: unknown[] = []) => {
    const db = await openSqlite(file, { timeout: 5000 });
    try {
      if (/^\s*(select|with|pragma|explain)/i.test(text)) return db.all(text, params);
      db.run(text, params);
      return [];
    } finally {
      db.close();
    }
  };
  return {
    kind,
    orm: orms[0]!,
    store: stores[0]!,
    stores,
    file,
    sql,
    key: hex,
    live: async (where, params) => Number((await sql(`select count(*) as n from fullauth_refresh_tokens where revoked = 0 and ${where}`, params))[0]!.n),
  };
}
