// The schema generator hooks keep the host's diff safe around the fullauth tables.
import { EntitySchema, p } from '@mikro-orm/core';
import { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FullauthConfigError,
  FullauthDestructiveChangeError,
  defineFullauthEntities,
  fullauthSchemaHooks,
  type FullauthSchemaHooksOptions,
} from '../src/index.js';
import { fastapiFullauthDdl } from './support/fixture.js';
import { initOrm } from './support/orm.js';
import { MIKRO_ORM_6, MIKRO_ORM_6_OPTIONS } from './support/compat.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';
import { FULLAUTH_GROUPS } from '../src/index.js';

const databases: TestDatabase[] = [];
afterAll(() => Promise.all(databases.map((db) => db.drop())));

async function database(label: string, ddl = fastapiFullauthDdl(FULLAUTH_GROUPS)): Promise<TestDatabase> {
  const db = await createDatabase(label);
  databases.push(db);
  if (ddl) await db.sql(ddl);
  return db;
}

interface Article {
  id: number;
  title: string;
}
const Article = new EntitySchema<Article>({
  name: 'Article',
  tableName: 'articles',
  properties: { id: { type: 'integer', primary: true }, title: { type: 'string' } },
});

async function orm(db: TestDatabase, entities: EntitySchema[], hooks?: FullauthSchemaHooksOptions): Promise<MikroORM> {
  return initOrm({ kind: 'postgres', url: db.url }, {
    entities,
    extensions: hooks ? [fullauthSchemaHooks(hooks)] : [],
    migrations: { snapshot: false, path: new URL('../.fullauth-dev/test-tmp/hooks', import.meta.url).pathname },
  });
}

describe.skipIf(skipPostgres)('removing a group', () => {
  it('never drops its tables, in schema:update or in migration:create', async () => {
    const db = await database('removed');
    const o = await orm(db, [...defineFullauthEntities([])], {});
    try {
      expect(await o.schema.getUpdateSchemaSQL()).toBe('');
      expect((await o.migrator.create()).diff.up).toEqual([]);
    } finally {
      await o.close();
    }
  });

  it('without the hooks, a migration that would drop them is refused, naming each statement', async () => {
    const db = await database('removed_nohooks');
    const o = await orm(db, [...defineFullauthEntities(['role'])]);
    try {
      const error = await o.migrator.create().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FullauthDestructiveChangeError);
      const statements = (error as FullauthDestructiveChangeError).statements;
      expect(statements).toEqual(expect.arrayContaining([
        'drop table if exists "fullauth_passkeys" cascade',
        'drop table if exists "fullauth_oauth_accounts" cascade',
        'drop table if exists "fullauth_permissions" cascade',
      ]));
      expect((error as Error).message).toMatch(/allowDestructive: true/);
    } finally {
      await o.close();
    }
  });

  it('drops them with the explicit opt-in', async () => {
    const db = await database('removed_optin');
    const o = await orm(db, [...defineFullauthEntities(['role'])], { dropRemovedGroups: true });
    try {
      const sql = await o.schema.getUpdateSchemaSQL({ wrap: false });
      expect(sql).toContain('drop table if exists "fullauth_passkeys" cascade;');
      expect(sql).toContain('drop table if exists "fullauth_role_permissions" cascade;');
      expect(sql).not.toContain('"fullauth_users"');
    } finally {
      await o.close();
    }
  });
});

describe.skipIf(skipPostgres)('destructive changes to fullauth tables', () => {
  const drifted = () =>
    fastapiFullauthDdl(['base'])
      .replace('email VARCHAR(320) NOT NULL', 'email VARCHAR(400) NOT NULL')
      .replace('user_agent VARCHAR(512),', 'user_agent VARCHAR(100),')
      .replace('family_id VARCHAR(36) NOT NULL,', 'family_id VARCHAR(36) NOT NULL, legacy_flag INTEGER,')
      .replace('ip_address VARCHAR(45),', 'ip_address TEXT,');

  it('are refused, each statement named; widening is allowed', async () => {
    const db = await database('destructive', drifted());
    const o = await orm(db, [...defineFullauthEntities([]), Article], {});
    try {
      const error = (await o.schema.getUpdateSchemaSQL().catch((e: unknown) => e)) as FullauthDestructiveChangeError;
      expect(error).toBeInstanceOf(FullauthDestructiveChangeError);
      expect(error.statements).toHaveLength(3);
      expect(error.statements.join('\n')).toMatch(/alter column "ip_address" type varchar\(45\)/); // text → varchar narrows
      expect(error.statements.join('\n')).toMatch(/alter table "fullauth_refresh_tokens" drop column "legacy_flag"/);
      expect(error.statements.join('\n')).toMatch(/alter table "fullauth_users" alter column "email" type varchar\(320\)/);
      expect(error.message).toContain('drop column "legacy_flag"');
      await expect(o.migrator.create()).rejects.toThrow(FullauthDestructiveChangeError);
      await expect(o.schema.update()).rejects.toThrow(FullauthDestructiveChangeError);
      // Nothing was applied.
      const columns = await db.sql(`select count(*)::int as n from information_schema.columns where column_name = 'legacy_flag'`);
      expect(columns.rows[0].n).toBe(1);
    } finally {
      await o.close();
    }
  });

  it('go through with allowDestructive', async () => {
    const db = await database('destructive_allowed', drifted());
    const o = await orm(db, [...defineFullauthEntities([])], { allowDestructive: true });
    try {
      const sql = await o.schema.getUpdateSchemaSQL({ wrap: false });
      expect(sql).toContain('drop column "legacy_flag"');
      expect(sql).toMatch(/alter column "user_agent" type varchar\(512\)/);
      await o.schema.update();
      expect(await o.schema.getUpdateSchemaSQL()).toBe('');
    } finally {
      await o.close();
    }
  });
});

describe.skipIf(skipPostgres)('excludeFromDiff', () => {
  it('keeps every fullauth table out of the host diff, and only those', async () => {
    const db = await database('exclude', fastapiFullauthDdl(['base']).replace('VARCHAR(320)', 'VARCHAR(10)'));
    const o = await orm(db, [...defineFullauthEntities(), Article], { excludeFromDiff: true });
    try {
      const sql = await o.schema.getUpdateSchemaSQL({ wrap: false });
      expect(sql).toContain('create table "articles"');
      expect(sql).not.toMatch(/fullauth_/);
      // schema:create and initial migrations leave them out too.
      const create = await o.schema.getCreateSchemaSQL({ wrap: false });
      expect(create).toContain('create table "articles"');
      expect(create).not.toMatch(/fullauth_/);
    } finally {
      await o.close();
    }
  });
});

describe.skipIf(skipPostgres)('the discovery check', () => {
  it('fails with a clear error when a property the auth tables rely on was changed', async () => {
    const db = await database('discovery', '');
    const init = () =>
      initOrm({ kind: 'postgres', url: db.url }, {
        entities: [...defineFullauthEntities([])],
        extensions: [fullauthSchemaHooks()],
        discovery: {
          onMetadata: (meta) => {
            if (meta.className === 'FullauthUser') {
              meta.properties.email!.length = 100;
              delete (meta.properties as Record<string, unknown>).isVerified;
            }
          },
        },
      });
    await expect(init()).rejects.toThrow(FullauthConfigError);
    await expect(init()).rejects.toThrow(/FullauthUser.email: columnTypes is \["varchar\(100\)"\], the auth tables need \["varchar\(320\)"\]/);
    await expect(init()).rejects.toThrow(/FullauthUser.isVerified was removed/);
  });

  it('fails (in MikroORM itself) when a host property takes a column of the auth tables', async () => {
    const db = await database('discovery_clash', '');
    const auth = defineFullauthEntities([], { user: { properties: { mail: p.string().fieldName('email') } } });
    await expect(
      initOrm({ kind: 'postgres', url: db.url }, { entities: [...auth], extensions: [fullauthSchemaHooks()] }),
    ).rejects.toThrow(/Duplicate fieldNames are not allowed: FullauthUser.email \(fieldName: 'email'\), FullauthUser.mail/);
  });

  it('rejects unknown hook options', () => {
    expect(() => fullauthSchemaHooks({ dropTables: true } as never)).toThrow(/Unknown fullauthSchemaHooks option: 'dropTables'\. Valid: excludeFromDiff,/);
  });
});

describe.skipIf(skipPostgres)('the hooks without Migrator in extensions', () => {
  // MikroORM 6 then builds a Migrator on first use, outside the registered extensions;
  // MikroORM 7 has no such Migrator (it must be registered), so there is nothing to check.
  (MIKRO_ORM_6 ? it : it.skip)(
    `still guard migration:create${MIKRO_ORM_6 ? '' : ' (MikroORM 6 only: MikroORM 7 runs only a registered Migrator)'}`,
    async () => {
      const db = await database('no_migrator', fastapiFullauthDdl(['base']).replace('family_id VARCHAR(36) NOT NULL,', 'family_id VARCHAR(36) NOT NULL, legacy_flag INTEGER,'));
      const o = await MikroORM.init({
        clientUrl: db.url,
        entities: [...defineFullauthEntities([])],
        extensions: [fullauthSchemaHooks()],
        migrations: { snapshot: false, path: new URL('../.fullauth-dev/test-tmp/no-migrator', import.meta.url).pathname },
        debug: false,
        ...MIKRO_ORM_6_OPTIONS,
      });
      try {
        const migrator = (o as unknown as { getMigrator(): { createMigration(): Promise<unknown> } }).getMigrator();
        await expect(migrator.createMigration()).rejects.toThrow(FullauthDestructiveChangeError);
      } finally {
        await o.close();
      }
    },
  );
});
