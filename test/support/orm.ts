import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { onTestFinished } from 'vitest';
import { Migrator } from '@mikro-orm/migrations';
import { embeddedPostgres } from '../../scripts/embedded-postgres.js';
import { fullauthMigrations } from '../../src/index.js';
import { MIKRO_ORM_6, MIKRO_ORM_6_OPTIONS, withMikroOrm7Names } from './compat.js';
import { sharedOnce } from './run-shared.js';

/**
 * Where a test's ORM points: a real PostgreSQL database, or a fresh in-memory PGlite (MikroORM 7:
 * a Kysely dialect, scripts/embedded-postgres.ts; MikroORM 6: over its socket server, `servePglite()`).
 */
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

/** Installed in the MikroORM 6 job only (ci/mikro-orm-6), so imported by a name the root's type-checker does not follow. */
const PGLITE_SOCKET = '@electric-sql/pglite-socket';
interface PgliteSocketServer {
  start(): Promise<void>;
  stop(): Promise<void>;
  getServerConn(): string;
}

/**
 * MikroORM 6 (knex) takes no Kysely dialect, so there a test's PGlite is served on the
 * PostgreSQL wire protocol (@electric-sql/pglite-socket) on a free port of 127.0.0.1, and the
 * ORM connects with a URL. The server takes one connection at a time (its default, kept: with
 * more, their messages would interleave in PGlite's one session), so the ORM's pool is one
 * connection (`PGLITE_SOCKET_POOL`). `close()` stops the server, then PGlite.
 */
async function servePglite(): Promise<{ url: string; close(): Promise<void> }> {
  const { PGLiteSocketServer } = (await import(/* @vite-ignore */ PGLITE_SOCKET)) as {
    PGLiteSocketServer: new (options: { db: PGlite; port: number; host: string }) => PgliteSocketServer;
  };
  const db = freshCluster ? new PGlite({ loadDataDir: freshCluster }) : new PGlite();
  const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1' });
  try {
    await server.start();
  } catch (error) {
    await db.close();
    throw error;
  }
  return {
    url: `postgresql://postgres@${server.getServerConn()}/postgres`,
    close: async () => {
      try {
        await server.stop();
      } finally {
        await db.close();
      }
    },
  };
}

/** The pool on a PGlite socket server: one connection (knex's default `min`, 2, would exceed it). */
export const PGLITE_SOCKET_POOL = { min: 0, max: 1 };

export async function initOrm(target: Target, options: Options): Promise<MikroORM> {
  if (target.kind === 'pglite') await loadFreshPgliteCluster();
  const served = target.kind === 'pglite' && MIKRO_ORM_6 ? await servePglite() : undefined;
  const connection: Options =
    target.kind === 'postgres'
      ? { clientUrl: target.url }
      : served
        ? { clientUrl: served.url }
        : { dbName: 'postgres', driverOptions: () => embeddedPostgres(undefined, freshCluster && { loadDataDir: freshCluster }) };
  const { migrations, extensions = [], ...rest } = options;
  let orm: MikroORM;
  try {
    orm = await MikroORM.init({
      ...connection,
      extensions: [Migrator, ...extensions],
      migrations: fullauthMigrations({ allOrNothing: target.kind === 'postgres', silent: true, ...migrations }),
      debug: false,
      ...MIKRO_ORM_6_OPTIONS,
      ...rest,
      // Whatever pool the test asks for: the socket server takes one connection.
      ...(served && { pool: { ...rest.pool, ...PGLITE_SOCKET_POOL } }),
    });
  } catch (error) {
    await served?.close();
    throw error;
  }
  if (served) {
    // The server lives as long as the ORM: closing the ORM (its connection first) stops it,
    // once, and at the latest when the test that made it ends (the file's own cleanup may
    // close it again later: a no-op).
    const closeOrm = orm.close.bind(orm);
    let closing: Promise<void> | undefined;
    orm.close = (force?: boolean) =>
      (closing ??= (async () => {
        try {
          await closeOrm(force);
        } finally {
          await served.close();
        }
      })());
    try {
      onTestFinished(() => orm.close(true));
    } catch {
      // Not inside a test (a hook): the caller closes it.
    }
  }
  return withMikroOrm7Names(orm);
}
