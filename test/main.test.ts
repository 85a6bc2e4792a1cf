// The README's main job (`npm start`) and the MikroORM CLI in the repository root, run as
// a user runs them: on embedded PostgreSQL (PGlite), and on a server via DATABASE_URL.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { readAllTables } from './support/catalog.js';
import { fastapiFullauthDdl } from './support/fixture.js';
import { CLI_ENV, describePgliteConfig } from './support/compat.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';
import { runCommand } from './support/spawn.js';
import { FULLAUTH_GROUPS } from '../src/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TMP = join(ROOT, '.fullauth-dev/test-tmp');
const cleanup: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const step of cleanup) await step();
});

function workDir(): string {
  mkdirSync(TMP, { recursive: true });
  const dir = mkdtempSync(join(TMP, 'main-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A user's environment: no test-runner variables; colours as a terminal-less user gets them. */
async function run(command: string, args: string[], env: Record<string, string>, colourEnv: Record<string, string> = { NO_COLOR: '1', FORCE_COLOR: '0' }): Promise<string> {
  const userEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST') && key !== 'NO_COLOR' && key !== 'FORCE_COLOR'));
  const result = await runCommand(command, args, { cwd: ROOT, env: { ...userEnv, ...CLI_ENV, ...colourEnv, DATABASE_URL: '', ...env } });
  expect(result.status, result.output).toBe(0);
  return result.output;
}

const TABLES = [
  'fullauth_users',
  'fullauth_refresh_tokens',
  'fullauth_roles',
  'fullauth_user_roles',
  'fullauth_permissions',
  'fullauth_role_permissions',
  'fullauth_oauth_accounts',
  'fullauth_passkeys',
];

function expectListing(output: string): void {
  for (const group of FULLAUTH_GROUPS) expect(output).toContain(`\ngroup ${group}\n`);
  for (const table of TABLES) expect(output).toMatch(new RegExp(`^  ${table}$`, 'm'));
  expect(output).toMatch(/primary key fullauth_user_roles_pkey: PRIMARY KEY \(user_id, role_id\)/);
  expect(output).toMatch(/foreign key fullauth_passkeys_user_id_fkey: .* ON DELETE CASCADE/);
  expect(output).toMatch(/unique index ix_fullauth_users_email: \(email\)/);
  expect(output).toMatch(/^ {4}email +character varying\(320\) not null$/m);
}

describePgliteConfig('npm start on embedded PostgreSQL (PGlite)', () => {
  it('creates the migration, applies it, prints the tables, and is idempotent', async () => {
    const dir = workDir();
    const env = { FULLAUTH_PGLITE_DIR: join(dir, 'pgdata'), FULLAUTH_MIGRATIONS_DIR: join(dir, 'migrations') };

    const first = await run('npm', ['start'], env);
    expect(first).toContain('Database: embedded PostgreSQL (PGlite');
    expect(first).toMatch(/Created the initial migration .*Migration\d+\.ts/);
    expectListing(first);
    expect(readdirSync(join(dir, 'migrations')).filter((f) => f.endsWith('.ts'))).toHaveLength(1);

    // Piped output gets no colour codes, even without NO_COLOR.
    const second = await run('npm', ['start'], env, {});
    expect(second).not.toContain('\u001b[');
    expect(second).toContain('Migrations: up to date, nothing to apply');
    expect(second).not.toContain('Created the initial migration');
    expectListing(second);

    expect(await run('npx', ['mikro-orm', 'migration:create'], env)).toMatch(/No changes required/);
    expect(readdirSync(join(dir, 'migrations')).filter((f) => f.endsWith('.ts'))).toHaveLength(1);
  });
});

describe.skipIf(skipPostgres)('npm start with DATABASE_URL', () => {
  it('brings the server database to the contract and prints it', async () => {
    const db: TestDatabase = await createDatabase('main');
    const contract: TestDatabase = await createDatabase('main_contract');
    cleanup.push(() => db.drop(), () => contract.drop());
    const dir = workDir();
    const env = { DATABASE_URL: db.url, FULLAUTH_MIGRATIONS_DIR: join(dir, 'migrations') };

    const output = await run('npm', ['start'], env);
    expect(output).toContain(`Database: PostgreSQL server (127.0.0.1:5432/${db.name})`);
    expectListing(output);
    await contract.sql(fastapiFullauthDdl(FULLAUTH_GROUPS));
    expect(await readAllTables(db.url)).toEqual(await readAllTables(contract.url));
    expect(await run('npx', ['mikro-orm', 'migration:check'], env)).toMatch(/No changes required/);
  });
});
