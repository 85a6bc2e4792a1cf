// The test suite runs unchanged on MikroORM 7 (the root install) and on MikroORM 6.6
// (ci/mikro-orm-6, see ci/mikro-orm-6/run). What differs between them, for the tests only,
// is here; what differs for the package itself is in src/orm-compat.ts.
import { MikroORM as CoreORM, type Constructor, type IDatabaseDriver } from '@mikro-orm/core';
import { describe, it } from 'vitest';

export { metadataByClassName } from '../../src/orm-compat.js';

/** MikroORM 6 has `MikroORM.initSync()`; MikroORM 7 discovers in the constructor instead. */
export const MIKRO_ORM_6 = typeof (CoreORM as unknown as { initSync?: unknown }).initSync === 'function';

/**
 * Why a suite that reaches PGlite through the repository's config (mikro-orm.config.ts) or the
 * host app's, in a child process, does not run here, if it does not. Those configs hand PGlite to
 * MikroORM as a Kysely dialect, which knex-based MikroORM 6 cannot use. The tests' own ORMs reach
 * PGlite on MikroORM 6 over its socket server (orm.ts), but a config file cannot: it would have to
 * start the server, and the `mikro-orm` CLI does not close it, so the command would not exit.
 */
export const PGLITE_CONFIG_UNSUPPORTED: string | undefined = MIKRO_ORM_6
  ? 'skipped on MikroORM 6: this config hands PGlite to MikroORM as a Kysely dialect, which knex-based MikroORM 6 cannot use; MikroORM 6 reaches PGlite over a pglite-socket server, which a config file would start and the mikro-orm CLI never stop'
  : undefined;

/** `describe()` for PGlite through a repository or host-app config, skipped with the reason in its title where that cannot run. */
export function describePgliteConfig(title: string, fn: () => void): void {
  if (PGLITE_CONFIG_UNSUPPORTED) describe.skip(`${title} (${PGLITE_CONFIG_UNSUPPORTED})`, fn);
  else describe(title, fn);
}

/** `it()`, skipped on MikroORM 6 with the reason in its title. */
export function itOnMikroOrm7(title: string, reason: string, fn: () => Promise<void> | void): void {
  if (MIKRO_ORM_6) it.skip(`${title} (skipped on MikroORM 6: ${reason})`, fn);
  else it(title, fn);
}

/**
 * `describe.each(kinds)(title, fn)` for database targets, with `%s` in the title standing for the
 * kind. PGlite targets run on both MikroORM versions (orm.ts serves them to each).
 */
export function describeTargets<K extends string>(kinds: readonly K[], title: string, fn: (kind: K) => void): void {
  for (const kind of kinds) describe(title.replace('%s', kind), () => fn(kind));
}

/**
 * The SQLite driver: `@mikro-orm/sql` ships one on MikroORM 7 (node:sqlite through a Kysely
 * dialect); on MikroORM 6 it is libSQL's (`@mikro-orm/libsql`: its native binary comes from the
 * npm registry as an optional package, nothing is compiled or downloaded at install time).
 */
const sqliteModule = MIKRO_ORM_6 ? '@mikro-orm/libsql' : '@mikro-orm/sql';
const sqliteDrivers = (await import(/* @vite-ignore */ sqliteModule)) as { SqliteDriver?: Constructor<IDatabaseDriver>; LibSqlDriver?: Constructor<IDatabaseDriver> };
export const SqliteDriver: Constructor<IDatabaseDriver> = (MIKRO_ORM_6 ? sqliteDrivers.LibSqlDriver : sqliteDrivers.SqliteDriver)!;

/**
 * An ORM that discovers without connecting, as `new MikroORM(options)` does on MikroORM 7
 * (MikroORM 6's constructor does not discover; its `MikroORM.initSync()` does).
 */
export function offlineOrm(options: ConstructorParameters<typeof CoreORM>[0]): CoreORM {
  const initSync = (CoreORM as unknown as { initSync?: (o: typeof options) => CoreORM }).initSync;
  return initSync ? initSync.call(CoreORM, options) : (new CoreORM(options) as CoreORM);
}

/**
 * Options every test ORM gets on MikroORM 6 (none on MikroORM 7):
 * - `processOnCreateHooksEarly`: `em.create()` fills the application-made ids and defaults at
 *   once, as MikroORM 7 always does (MikroORM 6 does it at flush by default; docs/getting-started.md);
 * - `dynamicImportProvider`: MikroORM 6 imports migration files with a native `import()`, which
 *   cannot load the `.ts` migrations inside vitest; this `import()` goes through vitest.
 */
export const MIKRO_ORM_6_OPTIONS: Record<string, unknown> = MIKRO_ORM_6
  ? { processOnCreateHooksEarly: true, dynamicImportProvider: (id: string) => import(/* @vite-ignore */ id) }
  : {};

/**
 * The environment of a `mikro-orm` CLI process started by a test in the repository root. Its
 * config is TypeScript: MikroORM 7's CLI registers a loader itself; MikroORM 6's would use
 * ts-node, so there it is told to allow TypeScript configs and is given tsx.
 */
export const CLI_ENV: Record<string, string> = MIKRO_ORM_6
  ? { MIKRO_ORM_CLI_USE_TS_NODE: '0', MIKRO_ORM_CLI_ALWAYS_ALLOW_TS: '1', NODE_OPTIONS: '--import=tsx' }
  : {};

type Methods = Record<string, unknown>;

/** Gives `target` the MikroORM 7 name of each method it has under its MikroORM 6 name only. */
function alias(target: Methods, names: Record<string, string>): void {
  for (const [v7, v6] of Object.entries(names)) {
    const method = target[v6];
    if (typeof target[v7] !== 'function' && typeof method === 'function') target[v7] = method.bind(target);
  }
}

/**
 * The tests call the schema generator and the Migrator by their MikroORM 7 names
 * (`orm.schema.create()`, `orm.migrator.create()`, `getPending()`, …); on MikroORM 6 those are
 * `createSchema()`, `createMigration()`, `getPendingMigrations()`, … This gives the ORM's own
 * instances the MikroORM 7 names as aliases (nothing else changes; on MikroORM 7 it does nothing).
 */
export function withMikroOrm7Names<T extends object>(orm: T): T {
  if (!MIKRO_ORM_6) return orm;
  const { schema, migrator } = orm as unknown as { schema: Methods; migrator: Methods };
  alias(schema, { create: 'createSchema', update: 'updateSchema', drop: 'dropSchema', clear: 'clearDatabase', refresh: 'refreshDatabase' });
  alias(migrator, {
    create: 'createMigration',
    createInitial: 'createInitialMigration',
    getPending: 'getPendingMigrations',
    getExecuted: 'getExecutedMigrations',
    checkSchema: 'checkMigrationNeeded',
  });
  return orm;
}
