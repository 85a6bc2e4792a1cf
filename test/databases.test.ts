// MariaDB (MySQL) and SQLite hold the same tables as fastapi-fullauth there: what our
// Migrator flow creates equals, catalog entry for catalog entry, what its DDL creates; a
// database it created is adopted with zero diff; and both services read and write the same
// values (hex uuids, UTC date-times, 0/1 booleans).
import { join } from 'node:path';
import { p } from '@mikro-orm/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FullauthDestructiveChangeError,
  checkFullauthSchema,
  defineFullauthEntities,
  formatFullauthReport,
  fullauthMigrator,
  fullauthSchemaHooks,
  resolveGroups,
  type FullauthGroup,
} from '../src/index.js';
import { findDestructiveStatements } from '../src/guard.js';
import { readMySqlTables, readSqliteTables, type PortableTable } from './support/catalogs.js';
import { SQLITE_NAME, initOtherOrm, removeDirs, scratchDir, sqliteExec, type OtherDatabase } from './support/databases.js';
import { GROUP_VARIANTS as VARIANTS, fastapiFullauthDdl } from './support/fixture.js';
import { MYSQL_FAMILY, createMariaDb, skipMariaDb, type TestMariaDb } from './support/mariadb.js';
import { MIKRO_ORM_6, SqliteDriver } from './support/compat.js';

const dirs: string[] = [];
const databases: TestMariaDb[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  removeDirs(dirs);
});


interface Backend {
  name: string;
  /** Why this backend's suites are skipped here, if they are (printed in their titles). */
  skip: string | false;
  /** A fresh empty database. */
  create(label: string): Promise<{ target: OtherDatabase; run(sql: string): Promise<void>; catalog(): Promise<PortableTable[]> }>;
  fixture: 'mysql' | 'sqlite';
}

const mariadb: Backend = {
  name: 'MariaDB',
  skip: skipMariaDb && 'no MariaDB server answers (outside CI only)',
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

const mysqlServer: Backend = {
  name: MYSQL_FAMILY.mysql.name,
  skip: MYSQL_FAMILY.mysql.skip ?? false,
  fixture: 'mysql',
  async create(label) {
    const db = await createMariaDb(label, 'mysql');
    databases.push(db);
    return {
      target: { kind: 'mysql', url: db.url },
      run: async (sql) => void (await db.sql(sql)),
      catalog: () => readMySqlTables(db),
    };
  },
};

const sqlite: Backend = {
  name: SQLITE_NAME,
  skip: false,
  fixture: 'sqlite',
  async create(label) {
    const file = join(scratchDir(`sqlite-${label}`, dirs), 'db.sqlite');
    return {
      target: { kind: 'sqlite', file },
      run: (sql) => sqliteExec(file, sql),
      catalog: () => readSqliteTables(file),
    };
  },
};

for (const backend of [mariadb, mysqlServer, sqlite]) {
  describe.skipIf(!!backend.skip)(`${backend.name}: the fastapi-fullauth schema${backend.skip ? ` (${backend.skip})` : ''}`, () => {
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

const HEX = /^[0-9a-f]{32}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/;

for (const backend of [mariadb, mysqlServer, sqlite]) {
  describe.skipIf(!!backend.skip)(`${backend.name}: values shared with the Python service${backend.skip ? ` (${backend.skip})` : ''}`, () => {
    async function ready(label: string) {
      const db = await backend.create(label);
      await db.run(fastapiFullauthDdl(resolveGroups(undefined), backend.fixture));
      const entities = defineFullauthEntities();
      const orm = await initOtherOrm(db.target, { entities: [...entities] });
      return { db, orm, entities };
    }
    /** Rows as the database holds them, for the assertions on storage. */
    async function rows(db: Awaited<ReturnType<Backend['create']>>, orm: Awaited<ReturnType<typeof initOtherOrm>>, sql: string) {
      void db;
      return (await orm.em.getConnection().execute(sql, [], 'all')) as Record<string, unknown>[];
    }

    it('writes hex uuids, UTC date-times and 0/1 booleans, and reads them back as uuids, Dates and booleans', async () => {
      const { db, orm, entities } = await ready('write');
      try {
        const em = orm.em.fork();
        const at = new Date(Date.UTC(2026, 10, 25, 19, 38, 14, 123));
        const user = em.create(entities.FullauthUser, { email: 'ada@example.com', createdAt: at });
        const role = em.create(entities.FullauthRole, { name: 'admin' });
        user.roles.add(role);
        em.create(entities.FullauthRefreshToken, { token: 'a'.repeat(64), user, familyId: 'f1', expiresAt: new Date(at.getTime() + 3600_000) });
        await em.flush();
        expect(user.id).toMatch(UUID);

        const [row] = await rows(db, orm, 'select * from fullauth_users');
        expect(row!.id).toBe(user.id.replace(/-/g, ''));
        expect(row!.id).toMatch(HEX);
        expect(Number(row!.is_active)).toBe(1);
        expect(Number(row!.is_verified)).toBe(0);
        // MySQL's DATETIME keeps whole seconds; SQLite keeps SQLAlchemy's text with microseconds.
        expect(String(row!.created_at)).toBe(backend.fixture === 'mysql' ? '2026-11-25 19:38:14' : '2026-11-25 19:38:14.123000');
        const [link] = await rows(db, orm, 'select * from fullauth_user_roles');
        expect(link).toEqual({ user_id: user.id.replace(/-/g, ''), role_id: role.id.replace(/-/g, '') });

        const fresh = orm.em.fork();
        const loaded = await fresh.findOneOrFail(entities.FullauthUser, { email: 'ada@example.com' }, { populate: ['roles', 'refreshTokens'] });
        expect(loaded.id).toBe(user.id);
        expect(loaded.isActive).toBe(true);
        expect(loaded.isSuperuser).toBe(false);
        expect(loaded.createdAt).toBeInstanceOf(Date);
        expect(loaded.createdAt.toISOString()).toBe(backend.fixture === 'mysql' ? '2026-11-25T19:38:14.000Z' : '2026-11-25T19:38:14.123Z');
        expect(loaded.roles.getItems().map((r) => r.name)).toEqual(['admin']);
        expect(loaded.refreshTokens.getItems()[0]!.user.id).toBe(user.id);
        // Comparisons go through the same conversion: by id, by date.
        expect(await fresh.count(entities.FullauthRefreshToken, { user: user.id, expiresAt: { $gt: at } })).toBe(1);
        expect(await fresh.count(entities.FullauthRefreshToken, { expiresAt: { $gt: new Date(at.getTime() + 7200_000) } })).toBe(0);
      } finally {
        await orm.close();
      }
    });

    it('reads rows the Python service wrote, and deletes cascade as there', async () => {
      const { db, orm, entities } = await ready('read');
      try {
        const id = '0190f5e2c3a47b8c9d0e1f2a3b4c5d6e';
        const stamp = backend.fixture === 'mysql' ? '2026-01-02 03:04:05' : '2026-01-02 03:04:05.123456';
        await orm.em.getConnection().execute(
          `insert into fullauth_users (id, email, hashed_password, is_active, is_verified, is_superuser, created_at) values (?, ?, null, 1, 1, 0, ?)`,
          [id, 'py@example.com', stamp],
        );
        await orm.em.getConnection().execute(
          `insert into fullauth_passkeys (id, user_id, credential_id, public_key, sign_count, device_name, transports, backed_up, created_at, last_used_at)
           values (?, ?, 'cred', 'pk', 3, '', 'internal,hybrid', 1, ?, null)`,
          ['0190f5e2c3a47b8c9d0e1f2a3b4c5d6f', id, stamp],
        );
        const em = orm.em.fork();
        const user = await em.findOneOrFail(entities.FullauthUser, { id: '0190f5e2-c3a4-7b8c-9d0e-1f2a3b4c5d6e' }, { populate: ['passkeys'] });
        expect(user.email).toBe('py@example.com');
        expect(user.isVerified).toBe(true);
        expect(user.createdAt.toISOString()).toBe(backend.fixture === 'mysql' ? '2026-01-02T03:04:05.000Z' : '2026-01-02T03:04:05.123Z');
        const [passkey] = user.passkeys.getItems();
        expect(passkey!.backedUp).toBe(true);
        expect(passkey!.lastUsedAt).toBeNull();
        em.remove(user);
        await em.flush();
        expect(await rows(db, orm, 'select * from fullauth_passkeys')).toEqual([]);
      } finally {
        await orm.close();
      }
    });

    it('leaves loaded rows alone on flush, so what the Python service changed meanwhile stays', async () => {
      const { db, orm, entities } = await ready('flush');
      try {
        const em = orm.em.fork();
        const user = em.create(entities.FullauthUser, { email: 'flush@example.com' });
        em.create(entities.FullauthPasskey, { user, credentialId: 'c1', publicKey: 'pk', lastUsedAt: new Date('2026-01-01T00:00:00Z') });
        em.create(entities.FullauthRefreshToken, { token: 'f'.repeat(64), user, familyId: 'f', expiresAt: new Date() });
        await em.flush();

        const session = orm.em.fork();
        const loaded = await session.findOneOrFail(entities.FullauthUser, { email: 'flush@example.com' }, { populate: ['passkeys', 'refreshTokens', 'roles'] });
        // The other service writes while this unit of work holds the rows.
        await orm.em.getConnection().execute(`update fullauth_passkeys set last_used_at = '2026-06-01 10:00:00', sign_count = 5`, [], 'run');
        const sent: string[] = [];
        const connection = orm.em.getConnection() as unknown as { execute: (...args: unknown[]) => Promise<unknown> };
        const execute = connection.execute.bind(connection);
        connection.execute = (...args: unknown[]) => (sent.push(String(args[0])), execute(...args));
        try {
          session.create(entities.FullauthRole, { name: 'unrelated' });
          await session.flush();
        } finally {
          connection.execute = execute;
        }
        expect(sent.filter((s) => /^update /i.test(s))).toEqual([]);
        expect(loaded.passkeys.getItems()).toHaveLength(1);
        const [row] = await rows(db, orm, 'select sign_count, last_used_at from fullauth_passkeys');
        expect(Number(row!.sign_count)).toBe(5);
        expect(String(row!.last_used_at)).toMatch(/^2026-06-01 10:00:00/);
      } finally {
        await orm.close();
      }
    });

    it('compares query bounds with their fraction of a second, and finds users of a role through the join table', async () => {
      const { orm, entities } = await ready('bounds');
      try {
        const em = orm.em.fork();
        const user = em.create(entities.FullauthUser, { email: 'b@example.com' });
        const role = em.create(entities.FullauthRole, { name: 'r' });
        user.roles.add(role);
        em.create(entities.FullauthRefreshToken, { token: 'b'.repeat(64), user, familyId: 'b', expiresAt: new Date('2026-03-01T12:00:00.000Z') });
        await em.flush();
        const fresh = orm.em.fork();
        expect(await fresh.count(entities.FullauthRefreshToken, { expiresAt: { $lt: new Date('2026-03-01T12:00:00.500Z') } })).toBe(1);
        expect(await fresh.count(entities.FullauthRefreshToken, { expiresAt: { $gt: new Date('2026-03-01T12:00:00.500Z') } })).toBe(0);
        // Collection.matching() on the many-to-many relations is not available here (docs/databases.md): query the other side.
        const roles = await fresh.find(entities.FullauthRole, { users: user.id });
        expect(roles.map((r) => r.name)).toEqual(['r']);
      } finally {
        await orm.close();
      }
    });

    it('enforces the unique keys of the contract', async () => {
      const { orm, entities } = await ready('unique');
      try {
        const em = orm.em.fork();
        em.create(entities.FullauthUser, { email: 'same@example.com' });
        await em.flush();
        const other = orm.em.fork();
        other.create(entities.FullauthUser, { email: 'same@example.com' });
        await expect(other.flush()).rejects.toThrow(/unique|duplicate/i);
      } finally {
        await orm.close();
      }
    });
  });
}

for (const backend of [mariadb, mysqlServer, sqlite]) {
  describe.skipIf(!!backend.skip)(`${backend.name}: hooks, check, metadata and what is PostgreSQL-only${backend.skip ? ` (${backend.skip})` : ''}`, () => {
    it('the hooks keep removed groups and refuse a destructive diff, naming the statement', async () => {
      const db = await backend.create('hooks');
      await db.run(fastapiFullauthDdl(resolveGroups(undefined), backend.fixture));
      await db.run('alter table fullauth_users add column legacy_note text');
      const orm = await initOtherOrm(db.target, {
        entities: [...defineFullauthEntities([])],
        extensions: [fullauthSchemaHooks()],
        migrations: { path: scratchDir('hooks', dirs), snapshot: false },
      });
      try {
        const error = await orm.schema.getUpdateSchemaSQL().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(FullauthDestructiveChangeError);
        expect((error as FullauthDestructiveChangeError).statements.join('\n')).toMatch(/fullauth_users/);
        // Only the base group is included: the other groups' tables are not dropped.
        expect((error as FullauthDestructiveChangeError).statements.join('\n')).not.toMatch(/fullauth_roles|fullauth_passkeys/);
      } finally {
        await orm.close();
      }
    });

    it('checkFullauthSchema() reports OK on the contract and names a missing index', async () => {
      const db = await backend.create('check');
      await db.run(fastapiFullauthDdl(resolveGroups(undefined), backend.fixture));
      const orm = await initOtherOrm(db.target, { entities: [...defineFullauthEntities()] });
      try {
        expect(formatFullauthReport(await checkFullauthSchema(orm))).toBe('fullauth schema: OK (8 tables match)');
        await db.run(
          backend.fixture === 'mysql'
            ? 'drop index ix_fullauth_refresh_tokens_family_id on fullauth_refresh_tokens'
            : 'drop index ix_fullauth_refresh_tokens_family_id',
        );
        const report = await checkFullauthSchema(orm);
        expect(report.differences).toEqual([
          { table: 'fullauth_refresh_tokens', kind: 'missing index', detail: 'index ix_fullauth_refresh_tokens_family_id (family_id)' },
        ]);
      } finally {
        await orm.close();
      }
    });

    it('managed mode runs here', async () => {
      const db = await backend.create('pgonly');
      const orm = await initOtherOrm(db.target, { entities: [...defineFullauthEntities()] });
      try {
        expect(fullauthMigrator(orm as never).dialect).toBe(db.target.kind === 'sqlite' ? 'sqlite' : 'mysql');
      } finally {
        await orm.close();
      }
    });

    it("refuses idStrategy 'bigint' at discovery, before anything is written", async () => {
      const db = await backend.create('bigint');
      await expect(
        initOtherOrm(db.target, { entities: [...defineFullauthEntities([], { idStrategy: 'bigint' })] }),
      ).rejects.toThrow(/idStrategy 'bigint' is not supported on (MySQL \/ MariaDB|SQLite); it works on PostgreSQL/);
      expect(await db.catalog()).toEqual([]);
    });
  });
}

describe('the destructive-statement guard reads every dialect', () => {
  const tables = { isFullauth: (table: string) => table.startsWith('fullauth_') };
  it.each([
    ['alter table `fullauth_users` drop column `legacy`', true],
    ['alter table `fullauth_users` modify `email` varchar(100) not null', true],
    ['alter table `fullauth_users` change `email` `mail` varchar(320) not null', true],
    ['drop table if exists `fullauth_passkeys`', true],
    ['drop table `fullauth_users`', true],
    ['alter table "fullauth_users" drop column "legacy"', true],
    ['alter table `articles` drop column `legacy`', false],
    ['alter table `fullauth_users` add index `ix_x` (`email`)', false],
    ['alter table `fullauth_users` drop index `ix_x`', false],
    ['alter table `fullauth_users` drop foreign key `fullauth_users_ibfk_1`', false],
    ['alter table "fullauth_users" alter column "score" type numeric(10,2) using ("score"::numeric(10,2))', true],
    ['alter table "fullauth_users" alter column "tags" type text[] using ("tags"::text[])', true],
    ['alter table "fullauth_users" alter column "n" type int4 using ("n"::int4)', true],
    ['alter table `fullauth_users` modify `score` decimal(10,2) not null', true],
  ])('%s → destructive: %s', (statement, destructive) => {
    expect(findDestructiveStatements([statement], tables)).toEqual(destructive ? [statement] : []);
  });

  // What the database holds now decides widening (allowed) from narrowing (refused).
  const live = {
    ...tables,
    currentColumn: (_table: string, _schema: string | undefined, column: string) =>
      ({ email: { type: 'varchar(320)', length: 320 }, note: { type: 'text' } })[column],
  };
  it.each([
    ['alter table `fullauth_users` modify `email` varchar(400) not null', false],
    ['alter table `fullauth_users` modify `email` varchar(100) not null', true],
    ['alter table `fullauth_users` modify `note` text null', false],
    ['alter table `fullauth_users` modify `note` varchar(100) null', true],
    ['alter table "fullauth_users" alter column "email" type varchar(400) using ("email"::varchar(400))', false],
  ])('with the live columns: %s → destructive: %s', (statement, destructive) => {
    expect(findDestructiveStatements([statement], live)).toEqual(destructive ? [statement] : []);
  });
});

for (const backend of [mariadb, mysqlServer, sqlite]) {
  describe.skipIf(!!backend.skip)(`${backend.name}: customisation${backend.skip ? ` (${backend.skip})` : ''}`, () => {
    it('a table prefix, the performance indexes and host user properties round-trip with no diff', async () => {
      const db = await backend.create('custom');
      const entities = defineFullauthEntities(undefined, {
        tablePrefix: 'auth_',
        performanceIndexes: true,
        user: { properties: { displayName: p.string().length(100).nullable() } },
      });
      const orm = await initOtherOrm(db.target, { entities: [...entities], extensions: [fullauthSchemaHooks()] });
      try {
        await orm.schema.create();
        expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
        expect((await checkFullauthSchema(orm)).ok).toBe(true);
        const tokens = (await db.catalog()).find((t) => t.name === 'auth_refresh_tokens')!;
        expect(tokens.indexes).toEqual(expect.arrayContaining([expect.stringMatching(/^ix_auth_refresh_tokens_user_id \(user_id\)$/)]));
        const em = orm.em.fork();
        const user = em.create(entities.FullauthUser, { email: 'x@example.com', displayName: 'X' });
        await em.flush();
        const loaded = await orm.em.fork().findOneOrFail(entities.FullauthUser, { id: user.id });
        expect(loaded.displayName).toBe('X');
      } finally {
        await orm.close();
      }
    });
  });
}

describe('SQLite and the MikroORM version', () => {
  it(
    MIKRO_ORM_6 ? 'MikroORM 6: SQLite through libSQL (@mikro-orm/libsql) discovers and creates the tables' : 'MikroORM 7: SQLite through node:sqlite discovers and creates the tables',
    async () => {
      const file = join(scratchDir('sqlite-version', dirs), 'db.sqlite');
      const orm = await initOtherOrm({ kind: 'sqlite', file }, { entities: [...defineFullauthEntities()] });
      try {
        expect(orm.config.getDriver()).toBeInstanceOf(SqliteDriver);
        await orm.schema.create();
        expect((await readSqliteTables(file)).map((t) => t.name)).toHaveLength(8);
      } finally {
        await orm.close();
      }
    },
  );
});
