import net from 'node:net';
import { EntityCaseNamingStrategy, EntitySchema, MetadataStorage } from '@mikro-orm/core';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { FullauthConfigError, defineFullauthEntities, getFullauthMetadata, type FullauthGroup } from '../src/index.js';
import { MariaDbDriver } from '@mikro-orm/mariadb';
import { metadataByClassName } from './support/compat.js';
import { initOrm } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const classNames = (storage: MetadataStorage) => [...storage].map((meta) => meta.className).sort();

afterEach(() => vi.restoreAllMocks());

describe('getFullauthMetadata() offline', () => {
  it('discovers every group without opening a connection', async () => {
    const connect = vi.spyOn(net.Socket.prototype, 'connect');
    const pending = getFullauthMetadata();
    expect(pending).toBeInstanceOf(Promise);
    const storage = await pending;
    expect(storage).toBeInstanceOf(MetadataStorage);
    expect(classNames(storage)).toEqual([
      'FullauthOAuthAccount',
      'FullauthPasskey',
      'FullauthPermission',
      'FullauthRefreshToken',
      'FullauthRole',
      'FullauthRolePermission',
      'FullauthUser',
      'FullauthUserRole',
    ]);
    expect(connect).not.toHaveBeenCalled();
  });

  it('gives final table and column names', async () => {
    const storage = await getFullauthMetadata({ include: ['role'] });
    expect(classNames(storage)).toEqual(['FullauthRefreshToken', 'FullauthRole', 'FullauthUser', 'FullauthUserRole']);
    const token = storage.getByClassName('FullauthRefreshToken');
    expect(token.tableName).toBe('fullauth_refresh_tokens');
    expect(token.properties.user!.fieldNames).toEqual(['user_id']);
    expect(token.properties.familyId!.fieldNames).toEqual(['family_id']);
    expect(token.properties.expiresAt!.columnTypes).toEqual(['timestamptz']);
    const user = storage.getByClassName('FullauthUser');
    expect(user.properties.hashedPassword!.fieldNames).toEqual(['hashed_password']);
    expect(user.properties.id!.columnTypes).toEqual(['uuid']);
    expect(user.properties.roles!.pivotTable).toBe('fullauth_user_roles');
    expect(storage.getByClassName('FullauthUserRole').primaryKeys).toEqual(['user', 'role']);
  });

  it('uses another platform when given its driver', async () => {
    const storage = await getFullauthMetadata({ include: [], driver: MariaDbDriver });
    const user = storage.getByClassName('FullauthUser');
    expect(user.tableName).toBe('fullauth_users');
    // fastapi-fullauth's MySQL storage: hex uuids in char(32), BOOL, DATETIME; InnoDB's FK names.
    expect(user.properties.id!.columnTypes).toEqual(['char(32)']);
    expect(user.properties.isActive!.columnTypes).toEqual(['tinyint(1)']);
    expect(user.properties.createdAt!.columnTypes).toEqual(['datetime']);
    const token = storage.getByClassName('FullauthRefreshToken');
    expect(token.properties.user!.foreignKeyName).toBe('fullauth_refresh_tokens_ibfk_1');
    expect(token.properties.user!.index).toBe('user_id');
  });

  it('validates include like defineFullauthEntities()', async () => {
    await expect(getFullauthMetadata({ include: ['admins' as FullauthGroup] })).rejects.toThrow(FullauthConfigError);
    await expect(getFullauthMetadata({ include: ['admins' as FullauthGroup] })).rejects.toThrow(/'admins'.*Valid groups/);
  });
});

describe.skipIf(skipPostgres)('getFullauthMetadata(orm)', () => {
  let db: TestDatabase | undefined;
  afterAll(() => db?.drop());

  it('returns the fullauth subset of the host ORM, as the host configured it', async () => {
    db = await createDatabase('meta');
    interface Article {
      id: number;
      title: string;
    }
    const Article = new EntitySchema<Article>({
      name: 'Article',
      properties: { id: { type: 'integer', primary: true }, title: { type: 'string' } },
    });
    const orm = await initOrm(
      { kind: 'postgres', url: db.url },
      { entities: [...defineFullauthEntities(['oauth']), Article], namingStrategy: EntityCaseNamingStrategy },
    );
    try {
      const storage = await getFullauthMetadata(orm);
      expect(classNames(storage)).toEqual(['FullauthOAuthAccount', 'FullauthRefreshToken', 'FullauthUser']);
      // The very metadata objects of the host ORM.
      expect(storage.getByClassName('FullauthUser')).toBe(metadataByClassName(orm.getMetadata(), 'FullauthUser'));
      // The host's naming strategy applies to its own entities, never to the contract's names.
      expect(metadataByClassName(orm.getMetadata(), 'Article')!.tableName).toBe('Article');
      expect(storage.getByClassName('FullauthOAuthAccount').properties.providerUserId!.fieldNames).toEqual([
        'provider_user_id',
      ]);
      expect(await orm.schema.getCreateSchemaSQL()).toContain('"fullauth_oauth_accounts_user_id_fkey"');
    } finally {
      await orm.close();
    }
  });
});
