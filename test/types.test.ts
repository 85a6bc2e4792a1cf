// Compile-time checks: `npm test` type-checks this file (tsc) before vitest runs it.
import { EntitySchema, type Collection, type EntityData, type EntityManager, type RequiredEntityData } from '@mikro-orm/core';
import { describe, expectTypeOf, it } from 'vitest';
import {
  defineFullauthEntities,
  type FullauthEntityMap,
  type FullauthGroup,
  type FullauthRole,
  type FullauthUser,
} from '../src/index.js';
import type { FULLAUTH_MODEL } from '../src/model.js';
import type { FullauthEntityName } from '../src/spec.js';

// The entity types (types.ts) and the declared model (model.ts) name the same properties.
type Keys<T> = Exclude<keyof T, symbol>;
type ModelKeys<N extends FullauthEntityName> = keyof (typeof FULLAUTH_MODEL)[N]['properties'];
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const modelAndTypesAgree: { [N in FullauthEntityName]: Same<Keys<FullauthEntityMap[N]>, ModelKeys<N>> } = {
  FullauthUser: true,
  FullauthRefreshToken: true,
  FullauthRole: true,
  FullauthUserRole: true,
  FullauthPermission: true,
  FullauthRolePermission: true,
  FullauthOAuthAccount: true,
  FullauthPasskey: true,
};

describe('entity types', () => {
  it('agree with the declared model', () => {
    expectTypeOf(modelAndTypesAgree).toEqualTypeOf<Record<FullauthEntityName, true>>();
  });

  it('type the schemas of the included groups only', () => {
    const base = defineFullauthEntities([]);
    expectTypeOf(base.FullauthUser).toEqualTypeOf<EntitySchema<FullauthUser<'base'>>>();
    // @ts-expect-error the role group is not included
    void base.FullauthRole;
    const withPermission = defineFullauthEntities(['permission']);
    expectTypeOf(withPermission.FullauthRole).toEqualTypeOf<EntitySchema<FullauthRole<'base' | 'role' | 'permission'>>>();
    expectTypeOf(defineFullauthEntities().FullauthPasskey).not.toBeNever();
  });

  it('give the user relations into included groups only', () => {
    type BaseUser = FullauthUser<'base'>;
    type RoleUser = FullauthUser<'base' | 'role'>;
    expectTypeOf<RoleUser['roles']>().toEqualTypeOf<Collection<FullauthRole<'base' | 'role'>>>();
    expectTypeOf<Keys<BaseUser>>().toEqualTypeOf<
      'id' | 'email' | 'hashedPassword' | 'isActive' | 'isVerified' | 'isSuperuser' | 'createdAt' | 'refreshTokens'
    >();
    expectTypeOf<Keys<FullauthUser<FullauthGroup>>>().toExtend<'roles' | 'oauthAccounts' | 'passkeys' | Keys<BaseUser>>();
  });

  it('ask em.create() only for what the application does not fill in', () => {
    expectTypeOf<{ email: string }>().toExtend<RequiredEntityData<FullauthUser<'base'>>>();
    expectTypeOf<{ hashedPassword: string }>().not.toExtend<RequiredEntityData<FullauthUser<'base'>>>();
    expectTypeOf<{ isActive: boolean; email: string }>().toExtend<EntityData<FullauthUser<'base'>>>();
  });

  it('let a host entity relate to the returned user schema', () => {
    const auth = defineFullauthEntities(['base', 'role']);
    interface Article {
      id: number;
      title: string;
      author: FullauthUser<'base' | 'role'>;
    }
    const Article = new EntitySchema<Article>({
      name: 'Article',
      properties: {
        id: { type: 'integer', primary: true },
        title: { type: 'string' },
        author: { kind: 'm:1', entity: () => auth.FullauthUser },
      },
    });
    expectTypeOf(Article).toEqualTypeOf<EntitySchema<Article>>();
    expectTypeOf<Article['author']['roles']>().toEqualTypeOf<Collection<FullauthRole<'base' | 'role'>>>();
  });

  it('keep the user\'s id type when options name no host property (e.g. only performanceIndexes)', () => {
    const auth = defineFullauthEntities(['base'], { performanceIndexes: true });
    // Compiles only while the user's primary key is still its string id.
    const reference = (em: EntityManager) => em.getReference(auth.FullauthUser, '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b');
    expectTypeOf(reference).returns.toHaveProperty('email');
  });
});
