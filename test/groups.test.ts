import { describe, expect, it } from 'vitest';
import {
  FULLAUTH_GROUPS,
  FullauthConfigError,
  defineFullauthEntities,
  resolveGroups,
  type FullauthGroup,
} from '../src/index.js';

const names = (include?: readonly FullauthGroup[]) => defineFullauthEntities(include).map((s) => s.meta.className);

describe('model groups', () => {
  it('lists the groups in dependency order', () => {
    expect(FULLAUTH_GROUPS).toEqual(['base', 'role', 'permission', 'oauth', 'passkey']);
  });

  it('includes every group when include is omitted', () => {
    expect(names()).toEqual([
      'FullauthUser',
      'FullauthRefreshToken',
      'FullauthRole',
      'FullauthUserRole',
      'FullauthPermission',
      'FullauthRolePermission',
      'FullauthOAuthAccount',
      'FullauthPasskey',
    ]);
  });

  it('treats [] as base only (never as "all")', () => {
    expect(resolveGroups([])).toEqual(['base']);
    expect(names([])).toEqual(['FullauthUser', 'FullauthRefreshToken']);
  });

  it('adds dependencies: permission brings role, both bring base', () => {
    expect(resolveGroups(['permission'])).toEqual(['base', 'role', 'permission']);
    expect(resolveGroups(['passkey'])).toEqual(['base', 'passkey']);
    expect(names(['permission'])).toEqual([
      'FullauthUser',
      'FullauthRefreshToken',
      'FullauthRole',
      'FullauthUserRole',
      'FullauthPermission',
      'FullauthRolePermission',
    ]);
  });

  it('ignores duplicates and order', () => {
    expect(resolveGroups(['oauth', 'role', 'oauth', 'base', 'role'])).toEqual(['base', 'role', 'oauth']);
  });

  it('rejects an unknown group, naming it and listing the valid groups', () => {
    const call = () => defineFullauthEntities(['role', 'roles' as FullauthGroup]);
    expect(call).toThrow(FullauthConfigError);
    expect(call).toThrow(
      "Unknown fullauth model group: 'roles'. Valid groups: 'base', 'role', 'permission', 'oauth', 'passkey'.",
    );
  });

  it('names every unknown value, whatever its type', () => {
    expect(() => resolveGroups(['x', 3, null] as unknown as FullauthGroup[])).toThrow(
      "Unknown fullauth model groups: 'x', number 3, null.",
    );
  });

  it('never splits a bare string into characters', () => {
    const call = () => defineFullauthEntities('role' as unknown as FullauthGroup[]);
    expect(call).toThrow(FullauthConfigError);
    expect(call).toThrow("include must be an array of group names, got the string 'role'. Wrap it in a list: ['role'].");
  });

  it('rejects a non-array include', () => {
    expect(() => resolveGroups({ role: true } as unknown as FullauthGroup[])).toThrow(
      'include must be an array of group names, got an object.',
    );
  });
});

describe('defineFullauthEntities', () => {
  it('returns fresh schemas on every call', () => {
    const a = defineFullauthEntities();
    const b = defineFullauthEntities();
    expect(a.FullauthUser).not.toBe(b.FullauthUser);
    a.forEach((schema, i) => expect(schema).not.toBe(b[i]));
  });

  it('names each included schema on the returned array, and only those', () => {
    const auth = defineFullauthEntities(['role']);
    expect(auth.FullauthUser.meta.className).toBe('FullauthUser');
    expect(auth.FullauthUserRole.meta.tableName).toBe('fullauth_user_roles');
    expect('FullauthPermission' in auth).toBe(false);
    // Spreading gives the schemas only.
    expect([...auth]).toHaveLength(4);
    expect(Object.keys(auth)).toEqual(['0', '1', '2', '3']);
  });

  it('creates relations into an optional group only when it is included', () => {
    const relations = (include?: readonly FullauthGroup[]) =>
      Object.keys(defineFullauthEntities(include).FullauthUser.meta.properties).filter(
        (p) => !['id', 'email', 'hashedPassword', 'isActive', 'isVerified', 'isSuperuser', 'createdAt'].includes(p),
      );
    expect(relations([])).toEqual(['refreshTokens']);
    expect(relations(['role'])).toEqual(['refreshTokens', 'roles']);
    expect(relations(['oauth', 'passkey'])).toEqual(['refreshTokens', 'oauthAccounts', 'passkeys']);
    expect(relations()).toEqual(['refreshTokens', 'roles', 'oauthAccounts', 'passkeys']);
    expect(Object.keys(defineFullauthEntities(['role']).FullauthRole.meta.properties)).toEqual(['id', 'name', 'users']);
    expect(Object.keys(defineFullauthEntities(['permission']).FullauthRole.meta.properties)).toEqual([
      'id',
      'name',
      'users',
      'permissions',
    ]);
  });
});
