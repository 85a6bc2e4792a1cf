// The entities at work, on real PostgreSQL and on PGlite: application-made ids and
// defaults, UTC timestamps, relations, cascades, a host entity relating to the user, and
// two ORMs with different groups in one process.
import { EntitySchema } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, describe, expect, it } from 'vitest';
import { defineFullauthEntities, type FullauthUser } from '../src/index.js';
import { describeTargets } from './support/compat.js';
import { initOrm, type Target } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const databases: TestDatabase[] = [];
afterAll(() => Promise.all(databases.map((db) => db.drop())));

async function target(kind: Target['kind'], label: string): Promise<Target> {
  if (kind === 'pglite') return { kind };
  const db = await createDatabase(label);
  databases.push(db);
  return { kind, url: db.url };
}

interface Article {
  id: number;
  title: string;
  author: FullauthUser;
}

function hostEntities() {
  const auth = defineFullauthEntities();
  const Article = new EntitySchema<Article>({
    name: 'Article',
    tableName: 'articles',
    properties: {
      id: { type: 'integer', primary: true, autoincrement: true },
      title: { type: 'string' },
      author: { kind: 'm:1', entity: () => auth.FullauthUser, deleteRule: 'cascade' },
    },
  });
  return { auth, Article };
}

async function withSchema(kind: Target['kind'], label: string, entities: EntitySchema[]): Promise<MikroORM> {
  const orm = await initOrm(await target(kind, label), { entities });
  await orm.schema.create();
  return orm;
}

const kinds = (['postgres', 'pglite'] as const).filter((kind) => kind === 'pglite' || !skipPostgres);

describeTargets(kinds, 'on %s', (kind) => {
  it('fills ids (UUIDv7, time ordered), defaults and UTC timestamps in the application', async () => {
    const { auth } = hostEntities();
    const orm = await withSchema(kind, 'defaults', [...auth]);
    try {
      const em = orm.em.fork();
      const before = Date.now();
      const users = ['a@x.io', 'b@x.io', 'c@x.io'].map((email) => em.create(auth.FullauthUser, { email }));
      await em.flush();
      const [user] = users;
      expect(user!.id).toMatch(UUID_V7);
      expect(users.map((u) => u.id)).toEqual(users.map((u) => u.id).sort());
      expect(user).toMatchObject({ isActive: true, isVerified: false, isSuperuser: false, hashedPassword: null });
      expect(user!.createdAt.getTime()).toBeGreaterThanOrEqual(before - 1000);

      const passkey = em.create(auth.FullauthPasskey, { user: user!, credentialId: 'cred', publicKey: 'pk' });
      const permission = em.create(auth.FullauthPermission, { name: 'articles:write' });
      await em.flush();
      expect(passkey).toMatchObject({ signCount: 0, deviceName: '', transports: '', backedUp: false, lastUsedAt: null });
      expect(permission.description).toBe('');

      const [row] = await em.getConnection().execute<{ iso: string; stored: boolean }[]>(
        `select to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as iso, is_active as stored
         from fullauth_users where id = '${user!.id}'`,
      );
      expect(row!.stored).toBe(true);
      expect(new Date(`${row!.iso}Z`).getTime()).toBe(user!.createdAt.getTime());
      // Explicit values win over the application's defaults.
      const admin = em.create(auth.FullauthUser, { email: 'root@x.io', isSuperuser: true, isActive: false });
      await em.flush();
      expect(await em.fork().findOneOrFail(auth.FullauthUser, admin.id)).toMatchObject({ isSuperuser: true, isActive: false });
    } finally {
      await orm.close();
    }
  });

  it('links users, roles and permissions through the join tables and cascades deletes', async () => {
    const { auth, Article } = hostEntities();
    const orm = await withSchema(kind, 'relations', [...auth, Article]);
    try {
      const em = orm.em.fork();
      const user = em.create(auth.FullauthUser, { email: 'ann@x.io', hashedPassword: 'h' });
      const role = em.create(auth.FullauthRole, { name: 'editor' });
      const permission = em.create(auth.FullauthPermission, { name: 'articles:write' });
      role.permissions.add(permission);
      user.roles.add(role);
      em.create(auth.FullauthRefreshToken, { user, token: 'a'.repeat(64), familyId: 'f1', expiresAt: new Date(Date.now() + 60_000) });
      em.create(auth.FullauthOAuthAccount, { user, provider: 'github', providerUserId: '42' });
      em.create(auth.FullauthPasskey, { user, credentialId: 'c1', publicKey: 'pk' });
      em.create(Article, { title: 'Hello', author: user });
      await em.flush();

      const fresh = orm.em.fork();
      const article = await fresh.findOneOrFail(Article, { title: 'Hello' }, { populate: ['author.roles.permissions'] });
      expect(article.author.email).toBe('ann@x.io');
      expect(article.author.roles.getItems().map((r) => r.name)).toEqual(['editor']);
      expect(article.author.roles[0]!.permissions.getItems().map((p) => p.name)).toEqual(['articles:write']);
      const link = await fresh.findOneOrFail(auth.FullauthUserRole, { user: user.id, role: role.id });
      expect([link.user.id, link.role.id]).toEqual([user.id, role.id]);

      const connection = orm.em.getConnection();
      await connection.execute(`delete from fullauth_users where id = '${user.id}'`);
      const counts = await connection.execute<{ n: string }[]>(`
        select (select count(*) from fullauth_refresh_tokens) + (select count(*) from fullauth_user_roles)
             + (select count(*) from fullauth_oauth_accounts) + (select count(*) from fullauth_passkeys)
             + (select count(*) from articles) as n`);
      expect(Number(counts[0]!.n)).toBe(0);
      expect(await orm.em.fork().count(auth.FullauthRole)).toBe(1);
    } finally {
      await orm.close();
    }
  });

  it('enforces the unique keys of the contract', async () => {
    const { auth } = hostEntities();
    const orm = await withSchema(kind, 'unique', [...auth]);
    try {
      const em = orm.em.fork();
      const user = em.create(auth.FullauthUser, { email: 'dup@x.io' });
      em.create(auth.FullauthOAuthAccount, { user, provider: 'github', providerUserId: '1' });
      await em.flush();
      const second = orm.em.fork();
      second.create(auth.FullauthUser, { email: 'dup@x.io' });
      await expect(second.flush()).rejects.toThrow(/ix_fullauth_users_email/);
      const third = orm.em.fork();
      third.create(auth.FullauthOAuthAccount, { user: user.id, provider: 'github', providerUserId: '1' });
      await expect(third.flush()).rejects.toThrow(/uq_oauth_provider_user/);
    } finally {
      await orm.close();
    }
  });
});

describe.skipIf(skipPostgres)('two ORMs in one process', () => {
  it('keep their own groups, metadata and tables', async () => {
    const smallAuth = defineFullauthEntities([]);
    const fullAuth = defineFullauthEntities();
    const small = await withSchema('postgres', 'small', [...smallAuth]);
    const full = await withSchema('postgres', 'full', [...fullAuth]);
    try {
      const smallUser = small.getMetadata().get(smallAuth.FullauthUser);
      const fullUser = full.getMetadata().get(fullAuth.FullauthUser);
      expect(smallUser).not.toBe(fullUser);
      expect(Object.keys(smallUser.properties)).not.toContain('roles');
      expect(Object.keys(fullUser.properties)).toContain('roles');
      const tables = async (orm: MikroORM) =>
        (await orm.em.getConnection().execute<{ t: string }[]>(
          `select tablename as t from pg_tables where schemaname = 'public' order by 1`,
        )).map((r) => r.t);
      expect(await tables(small)).toEqual(['fullauth_refresh_tokens', 'fullauth_users']);
      expect(await tables(full)).toHaveLength(8);

      const a = small.em.fork();
      const b = full.em.fork();
      a.create(smallAuth.FullauthUser, { email: 'one@x.io' });
      const two = b.create(fullAuth.FullauthUser, { email: 'two@x.io' });
      two.roles.add(b.create(fullAuth.FullauthRole, { name: 'admin' }));
      await Promise.all([a.flush(), b.flush()]);
      expect(await small.em.fork().count(smallAuth.FullauthUser)).toBe(1);
      expect(await full.em.fork().count(fullAuth.FullauthUser, { roles: { name: 'admin' } })).toBe(1);
    } finally {
      await small.close();
      await full.close();
    }
  });
});
