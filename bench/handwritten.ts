// The baseline: the same eight tables written by hand as plain EntitySchemas, the way a
// host would without this package (explicit names, no factory, no group logic). To make
// the same tables it needs what the package does too: unique *indexes* (spelled out as SQL,
// as MikroORM would otherwise create unique constraints) and application-side defaults.
import { EntitySchema } from '@mikro-orm/core';
import { uuidv7 } from 'uuidv7';

const uniqueIndex = (name: string, property: string, column: string) => ({
  name,
  properties: [property],
  expression: (_c: unknown, table: { name: string }) => `create unique index "${name}" on "${table.name}" ("${column}")`,
});
const id = { type: 'uuid', primary: true, onCreate: () => uuidv7() } as const;
const now = () => new Date();

const fk = (table: string, column: string) => ({
  fieldName: column,
  deleteRule: 'cascade',
  updateRule: 'no action',
  foreignKeyName: `${table}_${column}_fkey`,
}) as const;

export function handwrittenSchemas(): EntitySchema[] {
  const User: EntitySchema = new EntitySchema({
    name: 'User',
    tableName: 'fullauth_users',
    uniques: [uniqueIndex('ix_fullauth_users_email', 'email', 'email')],
    properties: {
      id,
      email: { type: 'string', length: 320 },
      hashedPassword: { type: 'text', nullable: true, fieldName: 'hashed_password' },
      isActive: { type: 'boolean', fieldName: 'is_active', onCreate: () => true },
      isVerified: { type: 'boolean', fieldName: 'is_verified', onCreate: () => false },
      isSuperuser: { type: 'boolean', fieldName: 'is_superuser', onCreate: () => false },
      createdAt: { type: 'datetime', columnType: 'timestamptz', fieldName: 'created_at', onCreate: now },
      refreshTokens: { kind: '1:m', entity: () => RefreshToken, mappedBy: 'user' },
      roles: { kind: 'm:n', entity: () => Role, pivotEntity: () => UserRole, owner: true },
      oauthAccounts: { kind: '1:m', entity: () => OAuthAccount, mappedBy: 'user' },
      passkeys: { kind: '1:m', entity: () => Passkey, mappedBy: 'user' },
    },
  });
  const RefreshToken: EntitySchema = new EntitySchema({
    name: 'RefreshToken',
    tableName: 'fullauth_refresh_tokens',
    uniques: [uniqueIndex('ix_fullauth_refresh_tokens_token', 'token', 'token')],
    indexes: [{ name: 'ix_fullauth_refresh_tokens_family_id', properties: ['familyId'] }],
    properties: {
      id,
      token: { type: 'string', length: 512 },
      user: { kind: 'm:1', entity: () => User, ...fk('fullauth_refresh_tokens', 'user_id') },
      familyId: { type: 'string', length: 36, fieldName: 'family_id' },
      expiresAt: { type: 'datetime', columnType: 'timestamptz', fieldName: 'expires_at' },
      revoked: { type: 'boolean', onCreate: () => false },
      userAgent: { type: 'string', length: 512, nullable: true, fieldName: 'user_agent' },
      ipAddress: { type: 'string', length: 45, nullable: true, fieldName: 'ip_address' },
      createdAt: { type: 'datetime', columnType: 'timestamptz', fieldName: 'created_at', onCreate: now },
    },
  });
  const Role: EntitySchema = new EntitySchema({
    name: 'Role',
    tableName: 'fullauth_roles',
    uniques: [uniqueIndex('ix_fullauth_roles_name', 'name', 'name')],
    properties: {
      id,
      name: { type: 'string', length: 100 },
      users: { kind: 'm:n', entity: () => User, mappedBy: 'roles' },
      permissions: { kind: 'm:n', entity: () => Permission, pivotEntity: () => RolePermission, owner: true },
    },
  });
  const UserRole: EntitySchema = new EntitySchema({
    name: 'UserRole',
    tableName: 'fullauth_user_roles',
    properties: {
      user: { kind: 'm:1', entity: () => User, primary: true, ...fk('fullauth_user_roles', 'user_id') },
      role: { kind: 'm:1', entity: () => Role, primary: true, ...fk('fullauth_user_roles', 'role_id') },
    },
  });
  const Permission: EntitySchema = new EntitySchema({
    name: 'Permission',
    tableName: 'fullauth_permissions',
    uniques: [uniqueIndex('ix_fullauth_permissions_name', 'name', 'name')],
    properties: {
      id,
      name: { type: 'string', length: 200 },
      description: { type: 'string', length: 500, onCreate: () => '' },
      roles: { kind: 'm:n', entity: () => Role, mappedBy: 'permissions' },
    },
  });
  const RolePermission: EntitySchema = new EntitySchema({
    name: 'RolePermission',
    tableName: 'fullauth_role_permissions',
    properties: {
      role: { kind: 'm:1', entity: () => Role, primary: true, ...fk('fullauth_role_permissions', 'role_id') },
      permission: { kind: 'm:1', entity: () => Permission, primary: true, ...fk('fullauth_role_permissions', 'permission_id') },
    },
  });
  const OAuthAccount: EntitySchema = new EntitySchema({
    name: 'OAuthAccount',
    tableName: 'fullauth_oauth_accounts',
    uniques: [{ name: 'uq_oauth_provider_user', properties: ['provider', 'providerUserId'] }],
    properties: {
      id,
      provider: { type: 'string', length: 50 },
      providerUserId: { type: 'string', length: 320, fieldName: 'provider_user_id' },
      user: { kind: 'm:1', entity: () => User, ...fk('fullauth_oauth_accounts', 'user_id') },
      providerEmail: { type: 'string', length: 320, nullable: true, fieldName: 'provider_email' },
      accessToken: { type: 'text', nullable: true, fieldName: 'access_token' },
      refreshToken: { type: 'text', nullable: true, fieldName: 'refresh_token' },
      expiresAt: { type: 'datetime', columnType: 'timestamptz', nullable: true, fieldName: 'expires_at' },
      createdAt: { type: 'datetime', columnType: 'timestamptz', fieldName: 'created_at', onCreate: now },
    },
  });
  const Passkey: EntitySchema = new EntitySchema({
    name: 'Passkey',
    tableName: 'fullauth_passkeys',
    uniques: [uniqueIndex('ix_fullauth_passkeys_credential_id', 'credentialId', 'credential_id')],
    indexes: [{ name: 'ix_fullauth_passkeys_user_id', properties: ['user'] }],
    properties: {
      id,
      user: { kind: 'm:1', entity: () => User, ...fk('fullauth_passkeys', 'user_id') },
      credentialId: { type: 'string', length: 512, fieldName: 'credential_id' },
      publicKey: { type: 'text', fieldName: 'public_key' },
      signCount: { type: 'integer', fieldName: 'sign_count', onCreate: () => 0 },
      deviceName: { type: 'string', length: 200, fieldName: 'device_name', onCreate: () => '' },
      transports: { type: 'string', length: 200, onCreate: () => '' },
      backedUp: { type: 'boolean', fieldName: 'backed_up', onCreate: () => false },
      createdAt: { type: 'datetime', columnType: 'timestamptz', fieldName: 'created_at', onCreate: now },
      lastUsedAt: { type: 'datetime', columnType: 'timestamptz', nullable: true, fieldName: 'last_used_at' },
    },
  });
  return [User, RefreshToken, Role, UserRole, Permission, RolePermission, OAuthAccount, Passkey];
}
