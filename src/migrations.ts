import type { MigrationsOptions } from '@mikro-orm/core';
import { FullauthMigrationGenerator } from './migration-generator.js';
import { readOptions } from './read-options.js';

/**
 * The Migrator options fullauth relies on. Each one is a MikroORM default we pin, so a
 * change of default in a later MikroORM, or a shared config, cannot change what the
 * fullauth migrations do. See docs/migrations.md for the reasoning behind each.
 */
export const FULLAUTH_MIGRATION_DEFAULTS = {
  /** Migration files: `./migrations`, relative to the working directory of the CLI. */
  path: './migrations',
  /** TypeScript and compiled JavaScript migrations, never declaration files. */
  glob: '!(*.d).{js,ts,cjs}',
  /** Each migration runs in a transaction: a failed one leaves no half-made auth table. */
  transactional: true,
  /** Never `session_replication_role = replica`: that needs a superuser and skips the FK checks. */
  disableForeignKeys: false,
  /** `migration:down` of the initial migration removes the fullauth tables. */
  dropTables: true,
  /** The snapshot lets `migration:create` diff without a round trip to every table. */
  snapshot: true,
  /** MikroORM's generator, plus a `down()` for the initial migration (it drops the tables it created). */
  generator: FullauthMigrationGenerator,
} as const satisfies MigrationsOptions;

/**
 * Migrator options for the host config's `migrations` key: ours, with the host's merged
 * over them (the host always wins). An option left out or `null` keeps our value (a `null`
 * never replaces a pinned default).
 *
 * @example
 * defineConfig({ extensions: [Migrator], migrations: fullauthMigrations({ path: './db/migrations' }) })
 */
export function fullauthMigrations(options?: MigrationsOptions | null): MigrationsOptions {
  return { ...FULLAUTH_MIGRATION_DEFAULTS, ...readOptions(options, 'fullauthMigrations() options') };
}
