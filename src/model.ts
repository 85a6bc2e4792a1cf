import type { TableSpec, FullauthEntityName } from './spec.js';

/**
 * The fullauth tables, declared once, as data. Property names are the TypeScript names;
 * column, table, index and constraint names are derived from them by naming.ts.
 * Property order is column order. See ../shared/schema-contract.md (the source of truth).
 *
 * A relation whose target (or join entity) belongs to a group that is not included is left
 * out, so `FullauthUser.roles` exists only with the `role` group.
 */
export const FULLAUTH_MODEL = {
  FullauthUser: {
    group: 'base',
    table: 'users',
    properties: {
      id: { type: 'id' },
      email: { type: 'varchar', length: 320, unique: true },
      hashedPassword: { type: 'text', nullable: true },
      isActive: { type: 'boolean', default: true },
      isVerified: { type: 'boolean', default: false },
      isSuperuser: { type: 'boolean', default: false },
      createdAt: { type: 'timestamp', defaultNow: true },
      refreshTokens: { type: 'collection', target: 'FullauthRefreshToken', mappedBy: 'user' },
      roles: { type: 'manyToMany', target: 'FullauthRole', pivot: 'FullauthUserRole' },
      oauthAccounts: { type: 'collection', target: 'FullauthOAuthAccount', mappedBy: 'user' },
      passkeys: { type: 'collection', target: 'FullauthPasskey', mappedBy: 'user' },
    },
  },
  FullauthRefreshToken: {
    group: 'base',
    table: 'refresh_tokens',
    properties: {
      id: { type: 'id' },
      token: { type: 'varchar', length: 512, unique: true },
      // Sessions, "revoke all of a user's tokens": by user. Purging: by expiry.
      user: { type: 'ref', target: 'FullauthUser', index: 'performance' },
      familyId: { type: 'varchar', length: 36, index: true },
      expiresAt: { type: 'timestamp', index: 'performance' },
      revoked: { type: 'boolean', default: false },
      userAgent: { type: 'varchar', length: 512, nullable: true },
      ipAddress: { type: 'varchar', length: 45, nullable: true },
      createdAt: { type: 'timestamp', defaultNow: true },
    },
  },
  FullauthRole: {
    group: 'role',
    table: 'roles',
    properties: {
      id: { type: 'id' },
      name: { type: 'varchar', length: 100, unique: true },
      users: { type: 'manyToMany', target: 'FullauthUser', pivot: 'FullauthUserRole', mappedBy: 'roles' },
      permissions: { type: 'manyToMany', target: 'FullauthPermission', pivot: 'FullauthRolePermission' },
    },
  },
  FullauthUserRole: {
    group: 'role',
    table: 'user_roles',
    properties: {
      user: { type: 'ref', target: 'FullauthUser', primary: true },
      role: { type: 'ref', target: 'FullauthRole', primary: true },
    },
  },
  FullauthPermission: {
    group: 'permission',
    table: 'permissions',
    properties: {
      id: { type: 'id' },
      name: { type: 'varchar', length: 200, unique: true },
      description: { type: 'varchar', length: 500, default: '' },
      roles: { type: 'manyToMany', target: 'FullauthRole', pivot: 'FullauthRolePermission', mappedBy: 'permissions' },
    },
  },
  FullauthRolePermission: {
    group: 'permission',
    table: 'role_permissions',
    properties: {
      role: { type: 'ref', target: 'FullauthRole', primary: true },
      permission: { type: 'ref', target: 'FullauthPermission', primary: true },
    },
  },
  FullauthOAuthAccount: {
    group: 'oauth',
    table: 'oauth_accounts',
    properties: {
      id: { type: 'id' },
      provider: { type: 'varchar', length: 50 },
      providerUserId: { type: 'varchar', length: 320 },
      // Counting a user's login methods when unlinking.
      user: { type: 'ref', target: 'FullauthUser', index: 'performance' },
      providerEmail: { type: 'varchar', length: 320, nullable: true },
      accessToken: { type: 'text', nullable: true },
      refreshToken: { type: 'text', nullable: true },
      expiresAt: { type: 'timestamp', nullable: true },
      createdAt: { type: 'timestamp', defaultNow: true },
    },
    uniqueConstraints: [{ name: 'uq_oauth_provider_user', key: 'provider_user', properties: ['provider', 'providerUserId'] }],
  },
  FullauthPasskey: {
    group: 'passkey',
    table: 'passkeys',
    properties: {
      id: { type: 'id' },
      user: { type: 'ref', target: 'FullauthUser', index: true },
      credentialId: { type: 'varchar', length: 512, unique: true },
      publicKey: { type: 'text' },
      signCount: { type: 'integer', default: 0 },
      deviceName: { type: 'varchar', length: 200, default: '' },
      transports: { type: 'varchar', length: 200, default: '' },
      backedUp: { type: 'boolean', default: false },
      createdAt: { type: 'timestamp', defaultNow: true },
      lastUsedAt: { type: 'timestamp', nullable: true },
    },
  },
} as const satisfies Record<FullauthEntityName, TableSpec>;
