// Naming and placement, id strategies and the extensible user, on real PostgreSQL.
import { EntitySchema, p, type Opt } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';
import {
  FullauthConfigError,
  defineFullauthEntities,
  type FullauthGroup,
  type FullauthOptions,
} from '../src/index.js';
import { initOrm } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const databases: TestDatabase[] = [];
afterAll(() => Promise.all(databases.map((db) => db.drop())));

async function ormWith(label: string, entities: EntitySchema[]): Promise<{ orm: MikroORM; db: TestDatabase }> {
  const db = await createDatabase(label);
  databases.push(db);
  const orm = await initOrm({ kind: 'postgres', url: db.url }, { entities });
  return { orm, db };
}

describe('invalid options fail before anything is built', () => {
  const cases: [string, FullauthOptions, RegExp][] = [
    ['a prefix that is not an identifier', { tablePrefix: 'Auth-' }, /tablePrefix must be a lower-case SQL identifier.*'Auth-'/],
    ['a schema that starts with a digit', { schema: '1auth' }, /schema must be a lower-case SQL identifier/],
    ['a table name over 63 characters', { tables: { FullauthUser: 'u'.repeat(64) } }, /is 64 characters long.*at most 63/],
    ['a prefix making a table name too long', { tablePrefix: 'p'.repeat(60) }, /The table name of FullauthUser is 65 characters/],
    ['an unknown entity in tables', { tables: { User: 'users' } as never }, /tables: unknown entity 'User'. Valid entities: FullauthUser,/],
    ['two entities on one table', { tables: { FullauthRole: 'things', FullauthPermission: 'things' } }, /FullauthRole and FullauthPermission would both use the table 'things'/],
    ['an unknown id strategy', { idStrategy: 'serial' as never }, /idStrategy: unknown strategy 'serial'. Valid strategies: 'uuidv7', 'uuidv4', 'bigint'/],
    ['an unknown option', { prefix: 'x_' } as never, /Unknown option: 'prefix'. Valid: tablePrefix, tables, schema, idStrategy, user, performanceIndexes/],
    ['a user property the auth tables rely on', { user: { properties: { email: p.string() } } }, /user.properties may not redefine 'email'/],
  ];
  it.each(cases)('rejects %s', (_label, options, message) => {
    expect(() => defineFullauthEntities(undefined, options)).toThrow(FullauthConfigError);
    expect(() => defineFullauthEntities(undefined, options)).toThrow(message);
  });

  it('still rejects bad groups first', () => {
    expect(() => defineFullauthEntities(['nope' as FullauthGroup], { tablePrefix: 'Bad-' })).toThrow(/Unknown fullauth model group: 'nope'/);
  });
});

describe.skipIf(skipPostgres)('naming and placement on PostgreSQL', () => {
  it('applies a prefix, per-table names and a schema to every table, key and index, with no diff afterwards', async () => {
    const auth = defineFullauthEntities(undefined, {
      tablePrefix: 'auth_',
      schema: 'identity',
      tables: { FullauthRolePermission: 'grants_of_roles_to_permissions_in_the_identity_schema_xyz' },
    });
    const { orm, db } = await ormWith('naming', [...auth]);
    try {
      await orm.schema.create();
      expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
      const tables = await db.sql(`select tablename from pg_tables where schemaname = 'identity' order by 1`);
      expect(tables.rows.map((r) => r.tablename)).toEqual([
        'auth_oauth_accounts',
        'auth_passkeys',
        'auth_permissions',
        'auth_refresh_tokens',
        'auth_roles',
        'auth_user_roles',
        'auth_users',
        'grants_of_roles_to_permissions_in_the_identity_schema_xyz',
      ]);
      const names = await db.sql(`
        select conname as name from pg_constraint where connamespace = 'identity'::regnamespace
        union select indexname from pg_indexes where schemaname = 'identity' order by 1`);
      const all = names.rows.map((r) => r.name as string);
      expect(all).toEqual(expect.arrayContaining([
        'auth_users_pkey',
        'ix_auth_users_email',
        'auth_refresh_tokens_user_id_fkey',
        'ix_auth_refresh_tokens_family_id',
        'uq_auth_oauth_accounts_provider_user',
        'ix_auth_passkeys_user_id',
      ]));
      expect(all.every((name) => name.length <= 63)).toBe(true);
      expect(all.filter((name) => name.startsWith('grants_of_roles')).length).toBe(3); // pkey and two fkeys, shortened
      expect((await db.sql(`select count(*)::int as n from pg_tables where schemaname = 'public'`)).rows[0].n).toBe(0);
    } finally {
      await orm.close();
    }
  });
});

describe.skipIf(skipPostgres)('id strategies', () => {
  it('uuidv4: application-made v4 uuids', async () => {
    const auth = defineFullauthEntities([], { idStrategy: 'uuidv4' });
    const { orm } = await ormWith('uuidv4', [...auth]);
    try {
      await orm.schema.create();
      const em = orm.em.fork();
      const user = em.create(auth.FullauthUser, { email: 'v4@x.io' });
      expect(user.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-/);
      await em.flush();
    } finally {
      await orm.close();
    }
  });

  it('bigint: a database identity, and every foreign key follows', async () => {
    const auth = defineFullauthEntities(['permission'], { idStrategy: 'bigint' });
    const { orm, db } = await ormWith('bigint', [...auth]);
    try {
      await orm.schema.create();
      expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
      const em = orm.em.fork();
      const user = em.create(auth.FullauthUser, { email: 'big@x.io' });
      const role = em.create(auth.FullauthRole, { name: 'admin' });
      user.roles.add(role);
      role.permissions.add(em.create(auth.FullauthPermission, { name: 'a:b' }));
      em.create(auth.FullauthRefreshToken, { user, token: 't', familyId: 'f', expiresAt: new Date() });
      await em.flush();
      expect(user.id).toMatch(/^\d+$/);
      expectTypeOf(user.id).toEqualTypeOf<Opt<string>>();
      const columns = await db.sql(`
        select table_name || '.' || column_name as c, data_type as t, is_identity as i from information_schema.columns
        where table_schema = 'public' and (column_name = 'id' or column_name like '%\\_id') and column_name <> 'family_id' order by 1`);
      for (const row of columns.rows) expect([row.c, row.t]).toEqual([row.c, 'bigint']);
      expect(columns.rows.filter((r) => r.i === 'YES').map((r) => r.c).sort()).toEqual([
        'fullauth_permissions.id',
        'fullauth_refresh_tokens.id',
        'fullauth_roles.id',
        'fullauth_users.id',
      ]);
      const defaults = await db.sql(`select count(*)::int as n from information_schema.columns where table_schema = 'public' and column_default is not null`);
      expect(defaults.rows[0].n).toBe(0);
    } finally {
      await orm.close();
    }
  });
});

describe.skipIf(skipPostgres)('an extensible user', () => {
  class Tenant {
    id!: number;
    name!: string;
  }
  const TenantSchema = new EntitySchema<Tenant>({
    class: Tenant,
    tableName: 'tenants',
    properties: { id: { type: 'integer', primary: true }, name: { type: 'string' } },
  });

  it('takes typed host properties, including a relation, and host entities relate to it', async () => {
    const auth = defineFullauthEntities(['role'], {
      user: {
        properties: {
          displayName: p.string().length(100).nullable(),
          tenant: () => p.manyToOne(TenantSchema).nullable(),
        },
      },
    });
    interface Post {
      id: number;
      author: typeof auth.FullauthUser extends EntitySchema<infer U> ? U : never;
    }
    const Post = new EntitySchema<Post>({
      name: 'Post',
      properties: { id: { type: 'integer', primary: true }, author: { kind: 'm:1', entity: () => auth.FullauthUser } },
    });
    const { orm, db } = await ormWith('extend', [...auth, TenantSchema, Post]);
    try {
      await orm.schema.create();
      const em = orm.em.fork();
      const tenant = em.create(TenantSchema, { id: 1, name: 'acme' });
      const user = em.create(auth.FullauthUser, { email: 'ext@x.io', displayName: 'Ext', tenant });
      expectTypeOf(user.displayName).toEqualTypeOf<string | null | undefined>();
      user.roles.add(em.create(auth.FullauthRole, { name: 'r' }));
      em.create(Post, { id: 1, author: user });
      await em.flush();
      const loaded = await orm.em.fork().findOneOrFail(Post, 1, { populate: ['author.tenant'] });
      expect(loaded.author.displayName).toBe('Ext');
      expect(loaded.author.tenant?.name).toBe('acme');
      const columns = await db.sql(`select column_name from information_schema.columns where table_name = 'fullauth_users' order by ordinal_position`);
      expect(columns.rows.map((r) => r.column_name)).toEqual([
        'id', 'email', 'hashed_password', 'is_active', 'is_verified', 'is_superuser', 'created_at', 'display_name', 'tenant_id',
      ]);
    } finally {
      await orm.close();
    }
  });

  it('can be the host class, with its methods', async () => {
    class AppUser {
      declare email: string;
      get domain(): string {
        return this.email.split('@')[1]!;
      }
    }
    const auth = defineFullauthEntities([], { user: { class: AppUser } });
    const { orm } = await ormWith('class', [...auth]);
    try {
      await orm.schema.create();
      const em = orm.em.fork();
      em.create(auth.FullauthUser, { email: 'ann@example.com' });
      await em.flush();
      const user = await orm.em.fork().findOneOrFail(auth.FullauthUser, { email: 'ann@example.com' });
      expect(user).toBeInstanceOf(AppUser);
      expect(user.domain).toBe('example.com');
      expect(orm.getMetadata().get(auth.FullauthUser).className).toBe('FullauthUser');
    } finally {
      await orm.close();
    }
  });
});
