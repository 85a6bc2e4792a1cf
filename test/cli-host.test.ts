// The real flow of a host application: `npm pack`, install the tarball into a separate
// app, then the real `mikro-orm` CLI, on real PostgreSQL and on PGlite; the same in a
// CommonJS host app (test/cli-host-cjs.test.ts); the Node.js check and option refusals of `mikro-orm-fullauth`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAllTables } from './support/catalog.js';
import { fastapiFullauthDdl } from './support/fixture.js';
import { RESOLVED_ENTRIES, createHostApp, expectOk, migrationFiles, resolvedEntries, type HostApp } from './support/host-app.js';
import { MIKRO_ORM_6, describePgliteConfig } from './support/compat.js';
import { MIKRO_ORM_7_NODE, nodeVersionProblem, optionProblem } from '../src/cli.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';
import { readMySqlTables, readSqliteTables } from './support/catalogs.js';
import { createMariaDb, skipMariaDb, type TestMariaDb } from './support/mariadb.js';
import { SQLITE_UNSUPPORTED } from './support/databases.js';

let host: HostApp;
const databases: (TestDatabase | TestMariaDb)[] = [];

beforeAll(async () => {
  host = await createHostApp();
});
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  if (host) rmSync(host.dir, { recursive: true, force: true });
});

const cli = (args: string[], env: Record<string, string>) => host.bin('mikro-orm', args, env);


describe('the packed package in a host app', () => {
  it('type-checks the host code against the published types', async () => {
    await expectOk(host.bin('tsc', ['-p', 'tsconfig.json']));
  });

  it('resolves dist/ for import and dist/cjs/ for require', async () => {
    expect(await resolvedEntries(host)).toEqual(RESOLVED_ENTRIES);
  });
});


describe.skipIf(skipPostgres)('the mikro-orm CLI in a host app, on PostgreSQL', () => {
  it('creates, applies, re-checks and reverts the fullauth tables', async () => {
    const db = await createDatabase('host');
    databases.push(db);
    const env = { DATABASE_URL: db.url, HOST_MIGRATIONS: './migrations-pg' };
    const path = join(host.dir, 'migrations-pg');

    await expectOk(cli(['migration:create', '--initial'], env));
    expect(migrationFiles(path)).toHaveLength(1);
    await expectOk(cli(['migration:up'], env));

    const tables = await readAllTables(db.url);
    expect(tables.map((t) => t.name).sort()).toEqual([
      'articles',
      'fullauth_refresh_tokens',
      'fullauth_roles',
      'fullauth_user_roles',
      'fullauth_users',
    ]);
    const contract = await createDatabase('host_contract');
    databases.push(contract);
    await contract.sql(fastapiFullauthDdl(['base', 'role']));
    expect(tables.filter((t) => t.name.startsWith('fullauth_'))).toEqual(await readAllTables(contract.url));

    expect(await expectOk(cli(['migration:create'], env))).toMatch(/No changes required/);
    expect(migrationFiles(path)).toHaveLength(1);
    await expectOk(cli(['migration:check'], env));

    await expectOk(cli(['migration:down'], env));
    expect((await readAllTables(db.url)).map((t) => t.name)).toEqual([]);
  });

  it('adopts a database created by fastapi-fullauth with zero diff', async () => {
    const db = await createDatabase('host_adopt');
    databases.push(db);
    await db.sql(fastapiFullauthDdl(['base', 'role']));
    const env = { DATABASE_URL: db.url, HOST_MIGRATIONS: './migrations-adopt', HOST_FULLAUTH_ONLY: '1' };

    expect(await expectOk(cli(['schema:update', '--dump'], env))).toMatch(/Schema is up-to-date/);
    expect(await expectOk(cli(['migration:create'], env))).toMatch(/No changes required/);
    expect(migrationFiles(join(host.dir, 'migrations-adopt'))).toEqual([]);
  });
});

describe.skipIf(skipPostgres)('npx mikro-orm-fullauth in a host app, on PostgreSQL', () => {
  it('runs the managed stream, checks for drift and draws the diagram', async () => {
    const db = await createDatabase('host_managed');
    databases.push(db);
    const env = { DATABASE_URL: db.url, HOST_MIGRATIONS: './migrations-managed', HOST_MANAGED: '1' };
    const fullauth = (...args: string[]) => host.bin('mikro-orm-fullauth', args, env);

    expect(await expectOk(fullauth('migrate'))).toContain('Applied 0001_base, 0001_role');
    expect(await expectOk(fullauth('status'))).toBe('applied  0001_base\napplied  0001_role\n');
    expect(await expectOk(fullauth('migrate'))).toContain('fullauth migrations: up to date');
    expect(await expectOk(fullauth('check'))).toContain('fullauth schema: OK (4 tables match)');

    // The host's own Migrator sees only the host's tables.
    await expectOk(cli(['migration:create'], env));
    const [file] = migrationFiles(join(host.dir, 'migrations-managed'));
    const code = readFileSync(join(host.dir, 'migrations-managed', file!), 'utf8');
    expect(code).toContain('create table "articles"');
    expect(code).not.toMatch(/create table "fullauth_/);
    await expectOk(cli(['migration:up'], env));

    await db.sql('alter table fullauth_users alter column email type varchar(100)');
    const drift = await fullauth('check');
    expect(drift.status).toBe(1);
    expect(drift.output).toContain('fullauth_users: column differs: email: type is "varchar(100)", expected "varchar(320)"');

    const diagram = await expectOk(fullauth('diagram'));
    expect(diagram).toMatch(/^erDiagram\n/);
    expect(diagram).toContain('fullauth_users ||--o{ fullauth_user_roles : "user_id"');
    expect(diagram).not.toContain('articles');
  });

  it('check, status and diagram create nothing: a mistyped database is reported, an empty one stays empty', async () => {
    const db = await createDatabase('host_readonly');
    databases.push(db);
    const missing = `${db.name}_typo`;
    const fullauth = (url: string, ...args: string[]) =>
      host.bin('mikro-orm-fullauth', args, { DATABASE_URL: url, HOST_MANAGED: '1' });

    const typo = db.url.replace(`/${db.name}`, `/${missing}`);
    for (const command of ['check', 'status']) {
      const result = await fullauth(typo, command);
      expect(result.status, result.output).toBe(1);
      expect(result.output).toContain(`mikro-orm-fullauth: database '${missing}' does not exist.`);
    }
    expect(await expectOk(fullauth(typo, 'diagram'))).toMatch(/^erDiagram\n/);
    const exists = await db.sql(`select count(*)::int as n from pg_database where datname = '${missing}'`);
    expect(exists.rows[0].n).toBe(0);

    expect(await expectOk(fullauth(db.url, 'status'))).toBe('pending  0001_base\npending  0001_role\n');
    expect((await fullauth(db.url, 'check')).output).toContain('fullauth_users: missing table');
    expect(await readAllTables(db.url)).toEqual([]);
  });
});

describePgliteConfig('the mikro-orm CLI in a host app, on PGlite', () => {
  it('creates, applies, re-checks and reverts the fullauth tables', async () => {
    const env = { HOST_DB: 'pglite', HOST_PGLITE_DIR: join(host.dir, 'pgdata'), HOST_MIGRATIONS: './migrations-pglite' };
    const path = join(host.dir, 'migrations-pglite');
    const tables = async () =>
      (await expectOk(host.run('node', ['--input-type=module', '-e', LIST_TABLES], env))).trim().split('\n').filter(Boolean);

    await expectOk(cli(['migration:create', '--initial'], env));
    expect(migrationFiles(path)).toHaveLength(1);
    await expectOk(cli(['migration:up'], env));
    expect(await tables()).toEqual(['articles', 'fullauth_refresh_tokens', 'fullauth_roles', 'fullauth_user_roles', 'fullauth_users']);
    expect(await expectOk(cli(['migration:create'], env))).toMatch(/No changes required/);
    await expectOk(cli(['migration:check'], env));
    await expectOk(cli(['migration:down'], env));
    expect(await tables()).toEqual([]);
  });
});

describe.skipIf(skipMariaDb)('the mikro-orm CLI in a host app, on MariaDB', () => {
  it('creates, applies, re-checks and reverts the fullauth tables, equal to the fastapi-fullauth tables there', async () => {
    const db = await createMariaDb('host');
    databases.push(db);
    const env = { DATABASE_URL: db.url, HOST_MIGRATIONS: './migrations-mariadb' };
    const config = ['--config', './mikro-orm.mariadb.config.ts'];

    await expectOk(cli(['migration:create', '--initial', ...config], env));
    expect(migrationFiles(join(host.dir, 'migrations-mariadb'))).toHaveLength(1);
    await expectOk(cli(['migration:up', ...config], env));
    const contract = await createMariaDb('host_contract');
    databases.push(contract);
    await contract.sql(fastapiFullauthDdl(['base', 'role'], 'mysql'));
    const ours = await readMySqlTables(db);
    expect(ours.map((t) => t.name).sort()).toEqual(['articles', 'fullauth_refresh_tokens', 'fullauth_roles', 'fullauth_user_roles', 'fullauth_users']);
    expect(ours.filter((t) => t.name.startsWith('fullauth_'))).toEqual(await readMySqlTables(contract));

    expect(await expectOk(cli(['migration:create', ...config], env))).toMatch(/No changes required/);
    expect(await expectOk(host.bin('mikro-orm-fullauth', ['check', ...config], env))).toContain(
      'fullauth schema: OK (4 tables match)',
    );
    await expectOk(cli(['migration:down', ...config], env));
    expect(await readMySqlTables(db)).toEqual([]);
  });
});

describe.skipIf(!!SQLITE_UNSUPPORTED)(`the mikro-orm CLI in a host app, on SQLite (node:sqlite)${SQLITE_UNSUPPORTED ? ` (${SQLITE_UNSUPPORTED})` : ''}`, () => {
  it('creates, applies, re-checks and reverts the fullauth tables; adopts a fastapi-fullauth database with zero diff', async () => {
    const file = join(host.dir, 'app.sqlite');
    const env = { HOST_SQLITE_FILE: file, HOST_MIGRATIONS: './migrations-sqlite' };
    const config = ['--config', './mikro-orm.sqlite.config.ts'];

    await expectOk(cli(['migration:create', '--initial', ...config], env));
    await expectOk(cli(['migration:up', ...config], env));
    expect((await readSqliteTables(file)).map((t) => t.name)).toEqual([
      'articles',
      'fullauth_refresh_tokens',
      'fullauth_roles',
      'fullauth_user_roles',
      'fullauth_users',
    ]);
    expect(await expectOk(cli(['migration:create', ...config], env))).toMatch(/No changes required/);
    expect(await expectOk(host.bin('mikro-orm-fullauth', ['check', ...config], env))).toContain(
      'fullauth schema: OK (4 tables match)',
    );
    await expectOk(cli(['migration:down', ...config], env));
    expect(await readSqliteTables(file)).toEqual([]);

    const adopted = join(host.dir, 'adopted.sqlite');
    const create = `import { DatabaseSync } from 'node:sqlite'; const db = new DatabaseSync(process.env.HOST_SQLITE_FILE); db.exec(process.env.DDL); db.close();`;
    const adoptEnv = { HOST_SQLITE_FILE: adopted, HOST_MIGRATIONS: './migrations-sqlite-adopt', HOST_FULLAUTH_ONLY: '1' };
    await expectOk(host.run('node', ['--input-type=module', '-e', create], { ...adoptEnv, DDL: fastapiFullauthDdl(['base', 'role'], 'sqlite') }));
    expect(await expectOk(cli(['schema:update', '--dump', ...config], adoptEnv))).toMatch(/Schema is up-to-date/);
    expect(await expectOk(cli(['migration:create', ...config], adoptEnv))).toMatch(/No changes required/);
  });
});

const LIST_TABLES = `
import { PGlite } from '@electric-sql/pglite';
const db = new PGlite(process.env.HOST_PGLITE_DIR);
const { rows } = await db.query("select tablename from pg_tables where schemaname = 'public' and tablename <> 'mikro_orm_migrations' order by 1");
console.log(rows.map((r) => r.tablename).join('\\n'));
await db.close();
`;

/** A Node.js binary too old for MikroORM 7 (the machine's Node 20, outside npm scripts), if there is one. */
const OLD_NODE = ['/usr/local/bin/node', '/usr/bin/node'].find((bin) => {
  if (!existsSync(bin)) return false;
  const version = spawnSync(bin, ['-p', 'process.versions.node'], { encoding: 'utf8' });
  return version.status === 0 && nodeVersionProblem(version.stdout.trim(), { version: '7.0.0' }) !== undefined;
});

describe('mikro-orm-fullauth checks the Node.js version before loading MikroORM', () => {
  it(`refuses MikroORM 7 on Node.js older than ${MIKRO_ORM_7_NODE}, naming the version needed and how to get it`, () => {
    const mikroOrm7 = { version: '7.2.1', engines: { node: '>= 22.17.0' } };
    const problem = nodeVersionProblem('20.20.2', mikroOrm7);
    expect(problem).toContain('MikroORM 7.2.1 (installed here) needs Node.js 22.17.0 or later; this is Node.js 20.20.2.');
    expect(problem).toContain('npm install --save-dev node@22');
    expect(problem).toContain('nvm install 22');
    expect(problem).toContain('docs/install.md');
    expect(nodeVersionProblem('v22.16.9', mikroOrm7)).toContain('this is Node.js 22.16.9.');
    expect(nodeVersionProblem('22.9.0', mikroOrm7)).toBeDefined();
    for (const ok of ['22.17.0', '22.23.3', '23.0.0', '24.1.0']) expect(nodeVersionProblem(ok, mikroOrm7)).toBeUndefined();
    // A later MikroORM asking for more in its engines is held to that.
    expect(nodeVersionProblem('22.23.3', { version: '8.0.0', engines: { node: '>= 24.0.0' } })).toContain('needs Node.js 24.0.0 or later');
    // MikroORM 6 runs on Node.js 20; no MikroORM found: nothing to say here.
    expect(nodeVersionProblem('20.20.2', { version: '6.6.16', engines: { node: '>= 18.12.0' } })).toBeUndefined();
    expect(nodeVersionProblem('18.0.0', undefined)).toBeUndefined();
  });

  it.skipIf(!OLD_NODE)(
    `a real run on ${OLD_NODE ? `the machine's ${OLD_NODE}` : 'an old Node.js (skipped: none found in /usr/local/bin, /usr/bin)'}: ` +
      (MIKRO_ORM_6 ? 'MikroORM 6 runs' : 'MikroORM 7 is refused with exit 1, before it is loaded'),
    async () => {
      const args = MIKRO_ORM_6 ? ['diagram', '--offline'] : ['check'];
      const result = await host.run(OLD_NODE!, ['node_modules/.bin/mikro-orm-fullauth', ...args]);
      if (MIKRO_ORM_6) {
        expect(await expectOk(result)).toMatch(/^erDiagram\n/);
        return;
      }
      expect(result.status, result.output).toBe(1);
      expect(result.output).toMatch(/^mikro-orm-fullauth: MikroORM 7\.\d+\.\d+ \(installed here\) needs Node\.js 22\.17\.0 or later; this is Node\.js 2\d\.\d+\.\d+\.\n/);
      expect(result.output).toContain('npm install --save-dev node@22');
      expect(result.output).not.toMatch(/at |SyntaxError|ERR_/);
    },
  );
});

describe('mikro-orm-fullauth refuses options the command would not use', () => {
  it('--include without --offline names --offline; --offline is for diagram only', async () => {
    expect(optionProblem('diagram', { include: 'role' })).toMatch(/--include chooses the groups of 'diagram --offline'.*Add --offline/);
    expect(optionProblem('check', { include: 'role' })).toMatch(/Add --offline/);
    expect(optionProblem('check', { offline: true })).toBe("--offline applies to the diagram command only, not to 'check'.");
    expect(optionProblem('diagram', { offline: true, include: 'role' })).toBeUndefined();
    expect(optionProblem('diagram', {})).toBeUndefined();

    // In a host app: refused before the config is loaded (no DATABASE_URL needed), exit 1.
    const fullauth = (...args: string[]) => host.bin('mikro-orm-fullauth', args);
    const include = await fullauth('diagram', '--include', 'role');
    expect(include.status).toBe(1);
    expect(include.output).toBe(`mikro-orm-fullauth: ${optionProblem('diagram', { include: 'role' })}\n`);
    expect((await fullauth('status', '--offline')).status).toBe(1);
    const offline = await expectOk(fullauth('diagram', '--offline', '--include', 'role'));
    expect(offline).toContain('fullauth_roles {');
    expect(offline).not.toContain('fullauth_permissions');
  });
});
