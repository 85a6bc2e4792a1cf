// Kratos-style data safety and Logto-style upgrade-equals-fresh for the shipped managed stream,
// on every database it ships for (PostgreSQL, MariaDB). Fixture rows are written at each
// version, every fullauth table is dumped before and after each migration, the rows are read
// back through the store (createFullauthStore), and `down` returns to the previous version
// with that version's rows intact. The catalog after upgrading from the first shipped version
// equals the catalog of a fresh install (the stream at once, and MikroORM's schema:create of
// the entities), and rolling back equals the previous version's fresh install.
import { afterAll, describe, expect, it } from 'vitest';
import {
  checkFullauthSchema,
  createFullauthStore,
  defineFullauthEntities,
  fullauthMigrator,
  fullauthSchemaHooks,
  type FullauthOptions,
} from '../src/index.js';
import { POSTGRESQL_MIGRATIONS } from '../src/managed/postgresql.js';
import { readAllTables } from './support/catalog.js';
import { join } from 'node:path';
import { readMySqlTables, readSqliteTables } from './support/catalogs.js';
import { SQLITE_UNSUPPORTED, initOtherOrm, removeDirs, scratchDir } from './support/databases.js';
import { createMariaDb, skipMariaDb } from './support/mariadb.js';
import { initOrm } from './support/orm.js';
import { createDatabase, skipPostgres } from './support/postgres.js';

type AnyOrm = Awaited<ReturnType<typeof initOrm>>;

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const step of cleanup.reverse()) await step();
});

interface Backend {
  name: string;
  skip: boolean;
  /** A new empty database: ORMs on it (managed mode, or none of the hooks for a fresh schema:create), its catalog, its rows. */
  create(label: string): Promise<{
    orm(options: FullauthOptions, managedHooks?: boolean): Promise<AnyOrm>;
    catalog(): Promise<unknown[]>;
    rows(sql: string): Promise<Record<string, unknown>[]>;
  }>;
}

const TABLES = ['users', 'refresh_tokens', 'roles', 'user_roles', 'permissions', 'role_permissions', 'oauth_accounts', 'passkeys'].map((t) => `fullauth_${t}`);

const backends: Backend[] = [
  {
    name: 'PostgreSQL',
    skip: skipPostgres,
    async create(label) {
      const db = await createDatabase(label);
      cleanup.push(() => db.drop());
      return {
        async orm(options, managedHooks = true) {
          const orm = await initOrm({ kind: 'postgres', url: db.url }, {
            entities: [...defineFullauthEntities(undefined, options)],
            extensions: managedHooks ? [fullauthSchemaHooks({ excludeFromDiff: true })] : [],
          });
          cleanup.push(() => orm.close());
          return orm;
        },
        catalog: () => readAllTables(db.url),
        rows: async (sql) => (await db.sql(sql)).rows as Record<string, unknown>[],
      };
    },
  },
  {
    name: 'MariaDB',
    skip: skipMariaDb,
    async create(label) {
      const db = await createMariaDb(label);
      cleanup.push(() => db.drop());
      return {
        async orm(options, managedHooks = true) {
          const orm = await initOtherOrm({ kind: 'mariadb', url: db.url }, {
            entities: [...defineFullauthEntities(undefined, options)],
            extensions: managedHooks ? [fullauthSchemaHooks({ excludeFromDiff: true })] : [],
          });
          cleanup.push(() => orm.close());
          return orm as unknown as AnyOrm;
        },
        catalog: () => readMySqlTables(db),
        rows: (sql) => db.sql(sql.replaceAll('"', '`')),
      };
    },
  },
  {
    name: 'SQLite',
    skip: !!SQLITE_UNSUPPORTED,
    async create(label) {
      const dirs: string[] = [];
      const file = join(scratchDir(`managed-${label}`, dirs), 'app.db');
      cleanup.push(async () => removeDirs(dirs));
      return {
        async orm(options, managedHooks = true) {
          const orm = await initOtherOrm({ kind: 'sqlite', file }, {
            entities: [...defineFullauthEntities(undefined, options)],
            extensions: [fullauthSchemaHooks(managedHooks ? { excludeFromDiff: true } : {})],
          });
          cleanup.push(() => orm.close());
          return orm as unknown as AnyOrm;
        },
        catalog: () => readSqliteTables(file),
        async rows(sql) {
          const { DatabaseSync } = await import('node:sqlite');
          const db = new DatabaseSync(file, { readOnly: true });
          try {
            return db.prepare(sql).all() as Record<string, unknown>[];
          } finally {
            db.close();
          }
        },
      };
    },
  },
];

/** Every row of every fullauth table, in a stable order: what must survive a migration unchanged. */
async function dump(db: { rows(sql: string): Promise<Record<string, unknown>[]> }): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const table of TABLES) {
    const rows = await db.rows(`select * from "${table}"`);
    out[table] = rows.map((r) => JSON.stringify(Object.entries(r).sort(([a], [b]) => a.localeCompare(b)))).sort();
  }
  return out;
}

/** The fixture rows of one version, written through the store as that version's application writes them. */
async function writeFixture(orm: AnyOrm, tag: string) {
  const store = createFullauthStore(orm.em.fork());
  const user = await store.createUser({ email: `${tag}@example.com`, hashedPassword: `hash-${tag}` });
  const session = await store.issueRefreshToken(user.id, { expiresIn: 3600, userAgent: `agent-${tag}`, ipAddress: '10.0.0.1' });
  await store.grantPermission(`editor-${tag}`, `posts:${tag}`, `may write ${tag}`);
  await store.assignRole(user.id, `editor-${tag}`);
  await store.linkOAuthAccount({ userId: user.id, provider: 'github', providerUserId: `gh-${tag}`, providerEmail: `${tag}@github.example` });
  await store.registerPasskey({ userId: user.id, credentialId: `cred-${tag}`, publicKey: `key-${tag}`, signCount: 1, deviceName: `phone-${tag}`, transports: ['usb'] });
  return { tag, user, session };
}

/** Reads one fixture back through the store, as the application of the version now in place does. */
async function readFixture(orm: AnyOrm, fixture: Awaited<ReturnType<typeof writeFixture>>, rotate: boolean) {
  const store = createFullauthStore(orm.em.fork());
  const { tag, user } = fixture;
  expect(await store.findUserByEmail(`${tag.toUpperCase()}@Example.com`)).toEqual(user);
  expect(await store.hasPermission(user.id, `posts:${tag}`)).toBe(true);
  expect(await store.listRoles(user.id)).toEqual([`editor-${tag}`]);
  expect(await store.findOAuthAccount('github', `gh-${tag}`)).toMatchObject({ userId: user.id, providerEmail: `${tag}@github.example` });
  expect(await store.findPasskey(`cred-${tag}`)).toMatchObject({ userId: user.id, publicKey: `key-${tag}`, signCount: 1, deviceName: `phone-${tag}` });
  expect((await store.listSessions(user.id)).map((s) => s.familyId)).toEqual([fixture.session.familyId]);
  if (rotate) {
    const next = await store.rotateRefreshToken(fixture.session.token);
    expect(next.familyId).toBe(fixture.session.familyId);
  }
}

const PERF = { performanceIndexes: true } as const;
const names = (version: string) => POSTGRESQL_MIGRATIONS.filter((m) => m.name.startsWith(version)).map((m) => m.name);

for (const backend of backends) {
  const why = backend.name === 'SQLite' ? SQLITE_UNSUPPORTED : 'server unreachable, see the warning above';
  describe.skipIf(backend.skip)(`the shipped stream keeps the data on ${backend.name}${backend.skip ? ` (skipped: ${why})` : ''}`, () => {
    it('rows written at 0001 and 0002 survive each upgrade unchanged, are read back through the store, and down returns to 0001 with its rows', async () => {
      const db = await backend.create('safety');
      const v1 = await db.orm({});
      const v2 = await db.orm(PERF);
      expect(await fullauthMigrator(v2).up({ to: 1 })).toEqual(names('0001'));
      const first = await writeFixture(v1, 'one');
      const atV1 = await dump(db);
      expect(Object.values(atV1).every((rows) => rows.length > 0)).toBe(true);

      expect(await fullauthMigrator(v2).up()).toEqual(names('0002'));
      expect(await dump(db)).toEqual(atV1);
      expect((await checkFullauthSchema(v2)).differences).toEqual([]);
      const second = await writeFixture(v2, 'two');
      await readFixture(v2, first, false);
      await readFixture(v2, second, false);
      const atV2 = await dump(db);

      // Back to 0001: the indexes go, every row stays; the 0001 application reads them.
      expect(await fullauthMigrator(v2).down({ to: '0001' })).toEqual(names('0002').reverse());
      expect(await dump(db)).toEqual(atV2);
      expect((await checkFullauthSchema(v1)).differences).toEqual([]);
      await readFixture(v1, first, true);
      await readFixture(v1, second, true);

      // And forward again, with the rotated tokens.
      const rotated = await dump(db);
      expect(await fullauthMigrator(v2).up()).toEqual(names('0002'));
      expect(await dump(db)).toEqual(rotated);

      // Below the first version the tables and their rows would go: refused unless asked for.
      await expect(fullauthMigrator(v2).down({ to: 0 })).rejects.toThrow(/drops fullauth tables and every row in them/);
      expect(await dump(db)).toEqual(rotated);
      expect(await fullauthMigrator(v2).down({ to: 0, dropTables: true })).toEqual([...names('0001'), ...names('0002')].reverse());
      expect((await db.catalog()).map((t) => (t as { name: string }).name)).toEqual(['fullauth_migrations']);
    });

    it('upgrading from 0001 equals a fresh install, and rolling back equals 0001 installed fresh', async () => {
      const upgraded = await backend.create('upgraded');
      await fullauthMigrator(await upgraded.orm(PERF)).up({ to: 1 });
      await writeFixture(await upgraded.orm({}), 'old');
      await fullauthMigrator(await upgraded.orm(PERF)).up();

      const stream = await backend.create('fresh_stream');
      await fullauthMigrator(await stream.orm(PERF)).up();
      const created = await backend.create('fresh_create');
      await (await created.orm(PERF, false)).schema.create();

      const withoutTracking = (tables: unknown[]) => tables.filter((t) => (t as { name: string }).name !== 'fullauth_migrations');
      const catalog = await upgraded.catalog();
      expect(catalog).toEqual(await stream.catalog());
      expect(withoutTracking(catalog)).toEqual(await created.catalog());

      await fullauthMigrator(await upgraded.orm(PERF)).down({ to: 1 });
      const v1 = await backend.create('fresh_v1');
      await (await v1.orm({}, false)).schema.create();
      expect(withoutTracking(await upgraded.catalog())).toEqual(await v1.catalog());
    });
  });
}
