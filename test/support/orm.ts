import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { embeddedPostgres } from '../../scripts/embedded-postgres.js';
import { fullauthMigrations } from '../../src/index.js';
import { MIKRO_ORM_6_OPTIONS, withMikroOrm7Names } from './compat.js';
import { sharedOnce } from './run-shared.js';

/** Where a test's ORM points: a real PostgreSQL database, or a fresh in-memory PGlite. */
export type Target = { kind: 'postgres'; url: string } | { kind: 'pglite' };

/**
 * A fresh PGlite cluster, as initdb makes it, dumped once per test run (run-shared.ts) and
 * loaded by each test's PGlite: a PGlite loaded from it starts in ~1 s, one running initdb in
 * ~3 s. Every test still gets its own in-memory PGlite, untouched by any other.
 */
let freshCluster: Blob | undefined;
let freshClusterLoaded: Promise<void> | undefined;

/** Loads the run's fresh-cluster dump (made by the first worker that asks); if it cannot be made, the PGlites run initdb themselves. */
export function loadFreshPgliteCluster(): Promise<void> {
  freshClusterLoaded ??= (async () => {
    try {
      const dir = await sharedOnce(
        'pglite-fresh-cluster',
        async (into) => {
          const db = new PGlite();
          try {
            await db.waitReady;
            const dump = await db.dumpDataDir('none');
            writeFileSync(join(into, 'pgdata.tar'), new Uint8Array(await dump.arrayBuffer()));
          } finally {
            await db.close();
          }
        },
        120_000,
      );
      freshCluster = new Blob([readFileSync(join(dir, 'pgdata.tar'))], { type: 'application/x-tar' });
    } catch (error) {
      console.warn(`PGlite: no fresh-cluster dump (${(error as Error).message}); each PGlite runs initdb.`);
    }
  })();
  return freshClusterLoaded;
}

export function connectionOptions(target: Target): Options {
  return target.kind === 'postgres'
    ? { clientUrl: target.url }
    : { dbName: 'postgres', driverOptions: () => embeddedPostgres(undefined, freshCluster && { loadDataDir: freshCluster }) };
}

export async function initOrm(target: Target, options: Options): Promise<MikroORM> {
  if (target.kind === 'pglite') await loadFreshPgliteCluster();
  const { migrations, extensions = [], ...rest } = options;
  const orm = await MikroORM.init({
    ...connectionOptions(target),
    extensions: [Migrator, ...extensions],
    migrations: fullauthMigrations({ allOrNothing: target.kind === 'postgres', silent: true, ...migrations }),
    debug: false,
    ...MIKRO_ORM_6_OPTIONS,
    ...rest,
  });
  return withMikroOrm7Names(orm);
}
