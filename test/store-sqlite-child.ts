// A separate process on the SQLite file of test/store-sqlite.test.ts: its own ORM (its own
// connection), started with the others, then released at once by a `go` file so that the
// processes' calls overlap. Prints a JSON summary of what its calls returned.
import { existsSync, writeFileSync } from 'node:fs';
import { createFullauthStore, defineFullauthEntities, fullauthSqlite, type IssuedRefreshToken } from '../src/index.js';
import { MIKRO_ORM_6 } from '../src/orm-compat.js';

const [file, mode, name, inputJson] = process.argv.slice(2) as [string, string, string, string];
const input = JSON.parse(inputJson) as { tokens?: string[]; users?: string[]; roles?: string[]; token?: string; count?: number };
const options = { dbName: file, entities: [...defineFullauthEntities(['role'])], debug: false };
type Orm = import('@mikro-orm/sql').MikroORM;
// MikroORM 6 (Node 20): libSQL's driver, imported by a name the root's type-checker does not follow (ci/mikro-orm-6 installs it).
const LIBSQL_ORM = '@mikro-orm/libsql';
const orm: Orm = MIKRO_ORM_6
  ? await ((await import(/* @vite-ignore */ LIBSQL_ORM)) as { MikroORM: { init(options: object): Promise<Orm> } }).MikroORM.init(options)
  : await (async () => {
      // MikroORM 7: the processes alternate fullauthSqlite() (the store's statements straight on
      // the connection) and NodeSqliteDialect (through Kysely), so both paths race each other.
      const { MikroORM, NodeSqliteDialect, SqliteDriver } = await import('@mikro-orm/sql');
      const dialect = Number(name) % 2 === 0 ? fullauthSqlite({ file }) : new NodeSqliteDialect(file);
      return MikroORM.init({ driver: SqliteDriver, driverOptions: dialect, ...options } as never);
    })();
const store = createFullauthStore(orm.em);
await store.findUserById('00000000-0000-7000-8000-000000000000'); // connected before the start
writeFileSync(`${file}.ready.${name}`, '');
while (!existsSync(`${file}.go`)) await new Promise((resolve) => setTimeout(resolve, 2));

const errors: Record<string, number> = {};
const failed = (error: unknown) => {
  const key = error instanceof Error ? error.constructor.name : String(error);
  errors[key] = (errors[key] ?? 0) + 1;
};
const out: { rotated: IssuedRefreshToken[]; revoked: number; assigned: number; errors: Record<string, number>; slowest: number } = { rotated: [], revoked: 0, assigned: 0, errors, slowest: 0 };
/** Times a call: `slowest` is how near a call came to the store's busyTimeout (its wait for the other processes' write locks). */
const timed = <T>(call: () => Promise<T>): Promise<T> => {
  const start = performance.now();
  return call().finally(() => (out.slowest = Math.max(out.slowest, Math.round(performance.now() - start))));
};
if (mode === 'rotate') {
  for (const token of input.tokens!) await timed(() => store.rotateRefreshToken(token)).then((r) => out.rotated.push(r), failed);
} else if (mode === 'revoke') {
  for (const user of input.users!) await timed(() => store.revokeAllForUser(user)).then(() => out.revoked++, failed);
} else if (mode === 'assign') {
  // Every role to every user, all at once: this process's calls overlap each other and the other processes'.
  const calls = input.roles!.flatMap((role) => input.users!.map((user) => timed(() => store.assignRole(user, role))));
  for (const r of await Promise.allSettled(calls)) if (r.status === 'fulfilled') out.assigned++; else failed(r.reason);
} else if (mode === 'rotate-one') {
  const results = await Promise.allSettled(Array.from({ length: input.count! }, () => timed(() => store.rotateRefreshToken(input.token!))));
  for (const r of results) if (r.status === 'fulfilled') out.rotated.push(r.value); else failed(r.reason);
}
await orm.close();
process.stdout.write(JSON.stringify(out));
