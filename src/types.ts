import type { Collection, EntitySchema, InferEntityFromProperties, Opt, PrimaryKeyProp } from '@mikro-orm/core';
import type { FullauthGroup } from './groups.js';
import type { FULLAUTH_MODEL } from './model.js';
import type { FullauthEntityName } from './spec.js';

/**
 * The entity types a host gets back. `G` is the set of included groups: relations into a
 * group that is not included are absent from the type, as they are from the metadata.
 * `Opt<…>` marks what the application fills in on insert (ids, defaults, `createdAt`), so
 * `em.create()` does not ask for it.
 */
type When<Group extends FullauthGroup, G extends FullauthGroup, Shape> = Group extends G ? Shape : unknown;

/** No host extension of the user. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type NoExtension = {};

export type FullauthUser<G extends FullauthGroup = FullauthGroup> = {
  id: Opt<string>;
  /** Stored lower-cased and trimmed. */
  email: string;
  /** `null` for an OAuth- or passkey-only user. */
  hashedPassword: string | null;
  isActive: Opt<boolean>;
  isVerified: Opt<boolean>;
  isSuperuser: Opt<boolean>;
  createdAt: Opt<Date>;
  refreshTokens: Collection<FullauthRefreshToken<G>>;
} & When<'role', G, { roles: Collection<FullauthRole<G>> }> &
  When<'oauth', G, { oauthAccounts: Collection<FullauthOAuthAccount<G>> }> &
  When<'passkey', G, { passkeys: Collection<FullauthPasskey<G>> }>;

export type FullauthRefreshToken<G extends FullauthGroup = FullauthGroup> = {
  id: Opt<string>;
  /** The sha256 hex digest of the token, never the token. */
  token: string;
  user: FullauthUser<G>;
  familyId: string;
  expiresAt: Date;
  revoked: Opt<boolean>;
  userAgent: string | null;
  ipAddress: string | null;
  createdAt: Opt<Date>;
};

export type FullauthRole<G extends FullauthGroup = FullauthGroup> = {
  id: Opt<string>;
  name: string;
  users: Collection<FullauthUser<G>>;
} & When<'permission', G, { permissions: Collection<FullauthPermission<G>> }>;

export type FullauthUserRole<G extends FullauthGroup = FullauthGroup> = {
  [PrimaryKeyProp]?: ['user', 'role'];
  user: FullauthUser<G>;
  role: FullauthRole<G>;
};

export type FullauthPermission<G extends FullauthGroup = FullauthGroup> = {
  id: Opt<string>;
  /** `resource:action`. */
  name: string;
  description: Opt<string>;
  roles: Collection<FullauthRole<G>>;
};

export type FullauthRolePermission<G extends FullauthGroup = FullauthGroup> = {
  [PrimaryKeyProp]?: ['role', 'permission'];
  role: FullauthRole<G>;
  permission: FullauthPermission<G>;
};

export type FullauthOAuthAccount<G extends FullauthGroup = FullauthGroup> = {
  id: Opt<string>;
  provider: string;
  providerUserId: string;
  user: FullauthUser<G>;
  providerEmail: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  expiresAt: Date | null;
  createdAt: Opt<Date>;
};

export type FullauthPasskey<G extends FullauthGroup = FullauthGroup> = {
  id: Opt<string>;
  user: FullauthUser<G>;
  credentialId: string;
  publicKey: string;
  /** Only ever increases (clone detection). */
  signCount: Opt<number>;
  deviceName: Opt<string>;
  /** Comma-separated, e.g. `internal,hybrid`. */
  transports: Opt<string>;
  backedUp: Opt<boolean>;
  createdAt: Opt<Date>;
  lastUsedAt: Date | null;
};

/** Entity name → entity type, for the groups `G`. */
export interface FullauthEntityMap<G extends FullauthGroup = FullauthGroup, U extends object = NoExtension> {
  /** The user with the host's extension (relations of the other entities point at the plain user type). */
  FullauthUser: FullauthUser<G> & U;
  FullauthRefreshToken: FullauthRefreshToken<G>;
  FullauthRole: FullauthRole<G>;
  FullauthUserRole: FullauthUserRole<G>;
  FullauthPermission: FullauthPermission<G>;
  FullauthRolePermission: FullauthRolePermission<G>;
  FullauthOAuthAccount: FullauthOAuthAccount<G>;
  FullauthPasskey: FullauthPasskey<G>;
}

/** The entity names that the groups `G` include. */
export type IncludedEntityName<G extends FullauthGroup> = {
  [N in FullauthEntityName]: (typeof FULLAUTH_MODEL)[N]['group'] extends G ? N : never;
}[FullauthEntityName];

/** A precisely typed schema of one fullauth entity. */
export type FullauthSchema<
  N extends FullauthEntityName,
  G extends FullauthGroup = FullauthGroup,
  U extends object = NoExtension,
> = EntitySchema<FullauthEntityMap<G, U>[N]>;

/**
 * What `defineFullauthEntities()` returns: an array of the included schemas, to spread into
 * the config's `entities`, that also names each schema (`entities.FullauthUser`) so host
 * entities can relate to it.
 */
export type FullauthEntities<G extends FullauthGroup = FullauthGroup, U extends object = NoExtension> = ReadonlyArray<
  FullauthSchema<IncludedEntityName<G>, G, U>
> & { readonly [N in IncludedEntityName<G>]: FullauthSchema<N, G, U> };

/** The user extension a `user` option adds: its properties' types and its class's instance type. */
// No host properties (`{}`, what an options object without `user` infers) is no extension: MikroORM's
// InferEntityFromProperties<{}> would add a primary-key marker that breaks the user's id type.
export type UserExtension<P, C> = (P extends Record<string, unknown> ? (keyof P extends never ? NoExtension : InferEntityFromProperties<P>) : NoExtension) &
  (C extends abstract new (...args: never[]) => infer I ? FilledByClass<I> : NoExtension);

/** Members of a host user class (getters, fields with initialisers) are never asked for by `em.create()`. */
export type FilledByClass<I> = { [K in keyof I]: I[K] extends (...args: never[]) => unknown ? I[K] : Opt<I[K]> };
