export { FULLAUTH_GROUPS, GROUP_DEPENDENCIES, resolveGroups } from './groups.js';
export type { FullauthGroup, ResolveGroups } from './groups.js';
export { FULLAUTH_ENTITY_NAMES } from './spec.js';
export type { FullauthEntityName } from './spec.js';
export { defineFullauthEntities } from './entities.js';
export { getFullauthMetadata } from './metadata.js';
export type { FullauthMetadataOptions, FullauthMetadataStorage, MetadataSource } from './metadata.js';
export { fullauthMigrations, FULLAUTH_MIGRATION_DEFAULTS } from './migrations.js';
export { FullauthMigrationGenerator } from './migration-generator.js';
export { FullauthConfigError } from './errors.js';
export { FullauthDestructiveChangeError } from './guard.js';
export { DEFAULT_SQLITE_BUSY_TIMEOUT, FullauthSqliteBusyError, FullauthSqliteConnectionHeldError, FullauthSqliteDialect, fullauthSqlite } from './sqlite/dialect.js';
export type { FullauthSqliteOptions } from './sqlite/dialect.js';
export { fullauthSchemaHooks } from './schema-hooks.js';
export { checkFullauthSchema, formatFullauthReport } from './check.js';
export type { FullauthSchemaDifference, FullauthSchemaReport } from './check.js';
export { renderFullauthDiagram } from './diagram.js';
export { ManagedModeNotCoveredError, fullauthMigrator } from './managed.js';
export type { FullauthManagedMigration, FullauthManagedOption, FullauthMigrator, FullauthMigratorOptions, FullauthVersion } from './managed.js';
export { FullauthSchemaNotReadyError, assertFullauthSchema } from './startup-guard.js';
export type { AssertFullauthSchemaOptions } from './startup-guard.js';
export type { FullauthSchemaHooks, FullauthSchemaHooksOptions } from './schema-hooks.js';
export type { FullauthOptions, FullauthUserOptions, UserPropertyDefinition } from './options.js';
export { ID_STRATEGIES } from './ids.js';
export type { FullauthIdStrategy } from './ids.js';
export { DEFAULT_TABLE_PREFIX } from './naming.js';
export type {
  FullauthEntities,
  FullauthEntityMap,
  FullauthSchema,
  IncludedEntityName,
  NoExtension,
  UserExtension,
  FullauthUser,
  FullauthRefreshToken,
  FullauthRole,
  FullauthUserRole,
  FullauthPermission,
  FullauthRolePermission,
  FullauthOAuthAccount,
  FullauthPasskey,
} from './types.js';
export { FullauthStore, createFullauthStore, normalizeEmail, tokenDigest } from './store/store.js';
export type { FullauthStoreOptions, IssueTokenOptions } from './store/store.js';
export * from './store/errors.js';
export type * from './store/records.js';
export { FastapiFullauthTokens, JWT_ALGORITHMS, fastapiFullauthTokens } from './tokens/jwt.js';
export type { AccessTokenClaims, FastapiFullauthTokenSettings, FullauthJwtAlgorithm, RefreshTokenClaims } from './tokens/jwt.js';
export { InvalidTokenError } from './tokens/errors.js';
export { hashPassword } from './passwords/hash.js';
export { verifyPassword } from './passwords/verify.js';
export { passwordNeedsRehash } from './passwords/rehash.js';
export { ARGON2ID_PARAMETERS, BCRYPT_COST, BCRYPT_MAX_PASSWORD_BYTES, PASSWORD_ALGORITHMS, VERIFY_LIMITS } from './passwords/policy.js';
export type { PasswordAlgorithm, PasswordAlgorithmOptions } from './passwords/policy.js';
export { FullauthPasswordError, PasswordArgumentError, PasswordLibraryMissingError, PasswordTooLongError } from './passwords/errors.js';
export type { PasswordLibrary } from './passwords/errors.js';
