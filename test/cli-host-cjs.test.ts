// A CommonJS host application ("type": "commonjs", as npm init and NestJS make it): the packed
// package through require(), the real `mikro-orm` CLI and `mikro-orm-fullauth` there. Its own
// file, so that it runs beside the ES-module host app's suite (test/cli-host.test.ts).
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAllTables } from './support/catalog.js';
import { RESOLVED_ENTRIES, createHostApp, expectOk, migrationFiles, resolvedEntries, type HostApp } from './support/host-app.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const databases: TestDatabase[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
});

describe('a CommonJS host app ("type": "commonjs", its TypeScript config compiled to CommonJS)', () => {
  let cjs: HostApp;
  beforeAll(async () => {
    cjs = await createHostApp({ type: 'commonjs' });
  });
  afterAll(() => {
    if (cjs) rmSync(cjs.dir, { recursive: true, force: true });
  });

  it('type-checks against the published CommonJS types; require() gets dist/cjs/, import() dist/', async () => {
    await expectOk(cjs.bin('tsc', ['-p', 'tsconfig.json']));
    expect(await resolvedEntries(cjs)).toEqual(RESOLVED_ENTRIES);
  });

  it.skipIf(skipPostgres)('mikro-orm migration:create --initial and migration:up, then npx mikro-orm-fullauth check and diagram, on PostgreSQL', async () => {
    const db = await createDatabase('host_cjs');
    databases.push(db);
    const env = { DATABASE_URL: db.url, HOST_MIGRATIONS: './migrations-cjs' };
    const mikroOrm = (...args: string[]) => cjs.bin('mikro-orm', args, env);
    const fullauth = (...args: string[]) => cjs.bin('mikro-orm-fullauth', args, env);

    await expectOk(mikroOrm('migration:create', '--initial'));
    expect(migrationFiles(join(cjs.dir, 'migrations-cjs'))).toHaveLength(1);
    await expectOk(mikroOrm('migration:up'));
    expect((await readAllTables(db.url)).map((t) => t.name).sort()).toEqual([
      'articles',
      'fullauth_refresh_tokens',
      'fullauth_roles',
      'fullauth_user_roles',
      'fullauth_users',
    ]);
    expect(await expectOk(mikroOrm('migration:create'))).toMatch(/No changes required/);

    // The config loaded dist/cjs/: the commands run with that copy, which built the entities.
    expect(await expectOk(fullauth('check'))).toContain('fullauth schema: OK (4 tables match)');
    expect(await expectOk(fullauth('diagram'))).toContain('fullauth_users ||--o{ fullauth_user_roles : "user_id"');
    // A plain JavaScript config that require()s.
    expect(await expectOk(fullauth('check', '--config', './mikro-orm.plain.config.js'))).toContain('fullauth schema: OK (4 tables match)');

    await db.sql('alter table fullauth_users alter column email type varchar(100)');
    const drift = await fullauth('check');
    expect(drift.status).toBe(1);
    expect(drift.output).toContain('fullauth_users: column differs: email');
  });
});

