import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { embeddedPostgres } from '../../scripts/embedded-postgres.js';
import { fullauthMigrations } from '../../src/index.js';
import { MIKRO_ORM_6_OPTIONS, withMikroOrm7Names } from './compat.js';

/** Where a test's ORM points: a real PostgreSQL database, or a fresh in-memory PGlite. */
export type Target = { kind: 'postgres'; url: string } | { kind: 'pglite' };

export function connectionOptions(target: Target): Options {
  return target.kind === 'postgres'
    ? { clientUrl: target.url }
    : { dbName: 'postgres', driverOptions: () => embeddedPostgres() };
}

export async function initOrm(target: Target, options: Options): Promise<MikroORM> {
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
