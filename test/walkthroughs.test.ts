// The docs pages as a reader follows them: every step marked in the markdown (```ts file=…
// blocks written to their paths, ```sh run commands; test/support/walkthrough.ts) runs in
// order in a fresh app folder with the packed package installed (test/support/host-app.ts),
// against a fresh PostgreSQL database. Each command must exit 0; then the outcome is checked.
// A page that goes on from another (store.md after getting-started.md) continues in that
// page's app and database once its test walked it.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIKRO_ORM_6 } from './support/compat.js';
import { createHostApp, type HostApp } from './support/host-app.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';
import { createWalkthroughApp, describeStep, readWalkthrough, runWalkthrough, walkthroughChain, type StepResult, type WalkState } from './support/walkthrough.js';

const SKIP = MIKRO_ORM_6
  ? ' (skipped on MikroORM 6: the pages are written for MikroORM 7, its method names and CLI without ts-node settings)'
  : skipPostgres
    ? ' (skipped: PostgreSQL is unreachable)'
    : '';

let host: HostApp;
const databases: TestDatabase[] = [];
beforeAll(async () => {
  if (!SKIP) host = await createHostApp();
});
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  if (host) rmSync(host.dir, { recursive: true, force: true });
});

async function database(label: string): Promise<TestDatabase> {
  const db = await createDatabase(label);
  databases.push(db);
  return db;
}

/** Pages walked to the end (every command succeeded), by page: where a page that goes on from them can continue. */
const walked = new Map<string, { pages: string[]; db: TestDatabase; state: WalkState }>();

/**
 * Runs a page in its own app folder and database; every command must succeed. A page that goes
 * on from another (`<!-- walkthrough: after … -->`) continues in that page's folder and
 * database when this file walked it already (its tests ran and checked it), else it walks that
 * page first itself.
 */
async function walk(page: string): Promise<{ db: TestDatabase; results: StepResult[]; output: (command: RegExp) => string }> {
  const name = page.replace(/^docs\/|\.md$/g, '');
  const { after } = readWalkthrough(page);
  const previous = after ? walked.get(after) : undefined;
  if (after) walked.delete(after); // this walk changes its folder and database
  const db = previous?.db ?? (await database(`walk_${name}`));
  const dir = previous?.state.dir ?? createWalkthroughApp(host, name);
  const state: WalkState = { dir, url: db.url };
  const results = await runWalkthrough(host, dir, page, previous?.state.url ?? db.url, async () => (await database(`walk_${name}_2`)).url, {
    continued: previous?.pages ?? [],
    state,
  });
  const failed = results.find((r) => r.status !== 0);
  if (failed) throw new Error(describeStep(failed));
  walked.set(page, { pages: walkthroughChain(page).map((w) => w.page), db, state });
  const output = (command: RegExp): string => {
    const found = results.filter((r) => r.step.kind === 'run' && command.test(r.step.command));
    expect(found, `no step runs ${command}`).not.toHaveLength(0);
    return found.map((r) => r.output).join('');
  };
  return { db, results, output };
}

const tables = async (db: TestDatabase): Promise<string[]> =>
  (await db.sql(`select tablename from pg_tables where schemaname = 'public' and tablename <> 'mikro_orm_migrations' order by 1`)).rows.map(
    (r: { tablename: string }) => r.tablename,
  );

const describeWalkthrough = SKIP ? describe.skip : describe;

describe('the walkthrough markers', () => {
  it('every walked page has steps, and only known markers', () => {
    for (const page of ['docs/getting-started.md', 'docs/migrations.md', 'docs/metadata.md', 'docs/store.md']) {
      const { steps } = readWalkthrough(page);
      expect(steps.filter((s) => s.kind === 'run').length, page).toBeGreaterThan(0);
    }
  });
});

describeWalkthrough(`the docs as walkthroughs, in a host app with the packed package, on PostgreSQL${SKIP}`, () => {
  it('getting-started.md: entities module, config, migrations, then the app uses the entities', async () => {
    const { db, output } = await walk('docs/getting-started.md');
    expect(output(/migration:create$/)).toMatch(/No changes required/);
    expect(await tables(db)).toEqual(['article', 'fullauth_refresh_tokens', 'fullauth_roles', 'fullauth_user_roles', 'fullauth_users']);
    expect(output(/tsx src\/app\.ts/)).toContain("Hello ann@example.com [ 'editor' ]");
    const users = await db.sql(`select u.email, r.name from fullauth_users u join fullauth_user_roles ur on ur.user_id = u.id join fullauth_roles r on r.id = ur.role_id`);
    expect(users.rows).toEqual([{ email: 'ann@example.com', name: 'editor' }]);
  });

  it('migrations.md: the schema generator, then the Migrator from the CLI and from code', async () => {
    const { db, results, output } = await walk('docs/migrations.md');
    expect(output(/create-schema\.ts/)).toContain('create table "fullauth_users"');
    expect(output(/migration:create$/)).toMatch(/No changes required/);
    expect(output(/migration:down/)).toMatch(/Successfully migrated down/);
    // The schema generator's database, then the Migrator's: the last step (from code) applied the migration again.
    expect(results.at(-1)!.step).toMatchObject({ kind: 'run', command: 'npx tsx src/migrate.ts' });
    expect(await tables(db)).toEqual(['fullauth_refresh_tokens', 'fullauth_roles', 'fullauth_user_roles', 'fullauth_users']);
    const migrator = databases.at(-1)!;
    expect(await tables(migrator)).toEqual(['fullauth_refresh_tokens', 'fullauth_roles', 'fullauth_user_roles', 'fullauth_users']);
  });

  it('metadata.md: offline, another platform, and from a running ORM', async () => {
    const { output } = await walk('docs/metadata.md');
    const offline = output(/offline\.ts/);
    expect(offline).toContain('FullauthUser fullauth_users id, email, hashed_password, is_active, is_verified, is_superuser, created_at\n');
    expect(offline).not.toMatch(/roles$/m);
    expect(output(/sqlite\.ts/)).toContain("[ 'boolean' ]");
    expect(output(/running-orm\.ts/)).toContain("fullauth_oauth_accounts [ 'uq_oauth_provider_user' ]");
  });

  it('store.md, after getting-started.md: every group migrated, then the store at work', async () => {
    const { db, output } = await walk('docs/store.md');
    expect(await tables(db)).toEqual([
      'article',
      'fullauth_oauth_accounts',
      'fullauth_passkeys',
      'fullauth_permissions',
      'fullauth_refresh_tokens',
      'fullauth_role_permissions',
      'fullauth_roles',
      'fullauth_user_roles',
      'fullauth_users',
    ]);
    const run = output(/try-it\.ts/);
    expect(run).toContain('signed up cleo@example.com');
    expect(run).toContain('logged in: 1 session');
    expect(run).toContain('refreshed: true');
    expect(run).toContain('a replayed token: session revoked, log in again');
    expect(run).toContain('can edit: true');
    expect(run).toContain('GitHub user: bob@example.com');
    expect(run).toContain('passkey count: 5');
    expect(run).toContain('deleted cleo: true');
    expect(run).toContain('deleting ann: still referenced by article (article_author_id_foreign)');
    // getting-started's user and article, and the GitHub user, are still there.
    const left = await db.sql(`select email from fullauth_users order by email`);
    expect(left.rows).toEqual([{ email: 'ann@example.com' }, { email: 'bob@example.com' }]);
    expect((await db.sql(`select title from article`)).rows).toEqual([{ title: 'Hello' }]);
  });
});
