// A separate process on the SQLite file of test/store-sqlite.test.ts: its own ORM (its own
// connection), started with the others, then released at once by a `go` file so that the
// processes' calls overlap. Prints a JSON summary of what its calls returned.
import { existsSync, writeFileSync } from 'node:fs';
import { MikroORM, NodeSqliteDialect, SqliteDriver } from '@mikro-orm/sql';
import { createFullauthStore, defineFullauthEntities, type IssuedRefreshToken } from '../src/index.js';

const [file, mode, name, inputJson] = process.argv.slice(2) as [string, string, string, string];
const input = JSON.parse(inputJson) as { tokens?: string[]; users?: string[]; token?: string; count?: number };
const orm = await MikroORM.init({ driver: SqliteDriver, dbName: file, driverOptions: new NodeSqliteDialect(file), entities: [...defineFullauthEntities([])], debug: false } as never);
const store = createFullauthStore(orm.em);
await store.findUserById('00000000-0000-7000-8000-000000000000'); // connected before the start
writeFileSync(`${file}.ready.${name}`, '');
while (!existsSync(`${file}.go`)) await new Promise((resolve) => setTimeout(resolve, 2));

const errors: Record<string, number> = {};
const failed = (error: unknown) => {
  const key = error instanceof Error ? error.constructor.name : String(error);
  errors[key] = (errors[key] ?? 0) + 1;
};
const out: { rotated: IssuedRefreshToken[]; revoked: number; errors: Record<string, number> } = { rotated: [], revoked: 0, errors };
if (mode === 'rotate') {
  for (const token of input.tokens!) await store.rotateRefreshToken(token).then((r) => out.rotated.push(r), failed);
} else if (mode === 'revoke') {
  for (const user of input.users!) await store.revokeAllForUser(user).then(() => out.revoked++, failed);
} else if (mode === 'rotate-one') {
  const results = await Promise.allSettled(Array.from({ length: input.count! }, () => store.rotateRefreshToken(input.token!)));
  for (const r of results) if (r.status === 'fulfilled') out.rotated.push(r.value); else failed(r.reason);
}
await orm.close();
process.stdout.write(JSON.stringify(out));
