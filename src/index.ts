export { FULLAUTH_GROUPS, GROUP_DEPENDENCIES, resolveGroups } from './groups.js';
export type { FullauthGroup, ResolveGroups } from './groups.js';
export { FULLAUTH_ENTITY_NAMES } from './spec.js';
export type { FullauthEntityName } from './spec.js';
export { defineFullauthEntities } from './entities.js';
export { getFullauthMetadata } from './metadata.js';
export type { FullauthMetadataOptions, MetadataSource } from './metadata.js';
export { fullauthMigrations, FULLAUTH_MIGRATION_DEFAULTS } from './migrations.js';
export { FullauthMigrationGenerator } from './migration-generator.js';
export { FullauthConfigError } from './errors.js';
export type {
  FullauthEntities,
  FullauthEntityMap,
  FullauthSchema,
  IncludedEntityName,
  FullauthUser,
  FullauthRefreshToken,
  FullauthRole,
  FullauthUserRole,
  FullauthPermission,
  FullauthRolePermission,
  FullauthOAuthAccount,
  FullauthPasskey,
} from './types.js';
