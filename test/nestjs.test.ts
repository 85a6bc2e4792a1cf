// The NestJS example (test/fixtures/nestjs-app, docs/nestjs.md): @nestjs/core + @mikro-orm/nestjs,
// the store as an injectable provider, a guard checking a permission, and a scheduled job that
// runs outside any request context — booted on a random localhost port against real PostgreSQL.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIKRO_ORM_6 } from './support/compat.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';
import { runCommand } from './support/spawn.js';
import type { FullauthStore } from '../src/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const APP_DIR = join(ROOT, 'test/fixtures/nestjs-app');

// The fixture is compiled with legacy decorators (its own tsconfig.json), so its modules are not
// imported by name here: the repository's tsconfig would type-check them without. On MikroORM 6
// (ci/mikro-orm-6) neither @nestjs/* nor @mikro-orm/nestjs is installed: this file still loads.
interface NestApp {
  get<T>(token: unknown): T;
  close(): Promise<void>;
}
interface CleanUpReport {
  purgedTokens: number;
  removedDrafts: number;
}
interface CleanUpJob {
  run(now?: Date): Promise<CleanUpReport>;
  runOnFork(now?: Date): Promise<CleanUpReport>;
  cleanUp(em: unknown, now: Date): Promise<CleanUpReport>;
}
interface Fixture {
  bootstrap(config: { clientUrl: string; secretKey: string }, prepare?: (orm: { schema: { create(): Promise<void> } }) => Promise<void>): Promise<{ app: NestApp; url: string }>;
  FULLAUTH_STORE: symbol;
  CleanUpJob: abstract new (...args: never[]) => CleanUpJob;
}
const FIXTURE = './fixtures/nestjs-app/main.js';

const REASON = 'skipped on MikroORM 6: @mikro-orm/nestjs 7 and @mikro-orm/decorators need MikroORM 7, and ci/mikro-orm-6 installs neither NestJS package';
const suite = MIKRO_ORM_6 ? describe.skip : describe.skipIf(skipPostgres);

suite(`NestJS example: store provider, permission guard, job outside a request${MIKRO_ORM_6 ? ` (${REASON})` : ''}`, () => {
  let db: TestDatabase;
  let fixture: Fixture;
  let app: NestApp;
  let url: string;
  let store: FullauthStore;
  const users: Record<'editor' | 'reader' | 'suspended', { id: string; token: string }> = {} as never;

  beforeAll(async () => {
    db = await createDatabase('nestjs');
    fixture = (await import(/* @vite-ignore */ FIXTURE)) as Fixture;
    ({ app, url } = await fixture.bootstrap({ clientUrl: db.url, secretKey: 'nest-example-secret' }, (orm) => orm.schema.create()));
    // Outside any request: the singleton store from the global EntityManager just works.
    store = app.get<FullauthStore>(fixture.FULLAUTH_STORE);
    for (const [name, role] of [['editor', 'editor'], ['reader', 'reader'], ['suspended', 'editor']] as const) {
      const user = await store.createUser({ email: `${name}@example.com` });
      await store.assignRole(user.id, role); // the roles RoleSync created at start-up
      users[name] = { id: user.id, token: (await store.issueAccessToken(user.id)).token };
    }
    await store.deactivateUser(users.suspended.id);
  });
  afterAll(async () => {
    await app?.close(); // closes the ORM (onApplicationShutdown of @mikro-orm/nestjs)
    await db?.drop();
  });

  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const headers: Record<string, string> = {};
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${url}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, body: text === '' ? undefined : (JSON.parse(text) as unknown) };
  };

  it('type-checks under its own tsconfig.json (experimentalDecorators)', async () => {
    const tsc = await runCommand(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(APP_DIR, 'tsconfig.json')]);
    if (tsc.status !== 0) throw new Error(`The NestJS example does not compile:\n${tsc.stdout}`);
  });

  it('synced the roles at start-up, outside any request', async () => {
    expect(await store.hasPermission(users.editor.id, 'articles:write')).toBe(true);
    expect(await store.hasPermission(users.reader.id, 'articles:write')).toBe(false);
    expect(await store.hasPermission(users.reader.id, 'articles:read')).toBe(true);
  });

  it('the guard: 401 without a (valid) bearer token, 403 without the permission or for a deactivated user, 201/200 with it', async () => {
    expect(await call('GET', '/articles')).toMatchObject({ status: 401, body: { message: 'A bearer token is required.' } });
    expect(await call('POST', '/articles', undefined, { title: 'x' })).toMatchObject({ status: 401 });
    expect(await call('GET', '/articles', 'not-a-jwt')).toMatchObject({ status: 401, body: { message: 'Invalid token.' } });
    expect(await call('POST', '/articles', users.reader.token, { title: 'Nope' })).toMatchObject({
      status: 403,
      body: { message: 'Missing permission articles:write.' },
    });
    expect(await call('POST', '/articles', users.suspended.token, { title: 'Nope' })).toMatchObject({
      status: 403,
      body: { message: 'The account is disabled.' },
    });
    expect(await call('POST', '/articles', users.editor.token, { title: 'Hello, Nest' })).toEqual({
      status: 201,
      body: { id: expect.any(Number), title: 'Hello, Nest', author: 'editor@example.com' },
    });
    // Authenticated only (no permission named): each user sees their own articles, through the
    // request's EntityManager fork that @mikro-orm/nestjs's middleware created.
    expect(await call('GET', '/articles', users.editor.token)).toEqual({
      status: 200,
      body: [{ id: expect.any(Number), title: 'Hello, Nest', published: false }],
    });
    expect(await call('GET', '/articles', users.reader.token)).toEqual({ status: 200, body: [] });
    expect(await call('GET', '/nowhere', users.editor.token)).toMatchObject({ status: 404 });
    expect((await db.sql('select count(*)::int as n from article')).rows[0].n).toBe(1);
  });

  it('the scheduled job runs outside any request context: with @CreateRequestContext() or a fork; the global EntityManager without one throws MikroORM\'s validation error', async () => {
    const { EntityManager, RequestContext, ValidationError } = await import('@mikro-orm/core');
    expect(RequestContext.currentRequestContext()).toBeUndefined(); // really outside any request
    const job = app.get<CleanUpJob>(fixture.CleanUpJob);
    const later = new Date(Date.now() + 40 * 24 * 3600 * 1000); // drafts older than 30 days, tokens long expired
    const draft = async (title: string) => {
      expect(await call('POST', '/articles', users.editor.token, { title })).toMatchObject({ status: 201 });
      await store.issueRefreshToken(users.editor.id, { expiresIn: 3600 });
    };
    await draft('Draft 1'); // next to 'Hello, Nest' from the test above (run alone, only this one)
    const drafts = Number((await db.sql('select count(*)::int as n from article')).rows[0].n);

    // Right: a new context per run (@CreateRequestContext()).
    expect(await job.run(later)).toEqual({ purgedTokens: 1, removedDrafts: drafts });
    // Right: an explicit fork.
    await draft('Draft 2');
    expect(await job.runOnFork(later)).toEqual({ purgedTokens: 1, removedDrafts: 1 });
    expect((await db.sql('select count(*)::int as n from article')).rows[0].n).toBe(0);

    // Naive: the same work on the injected (global) EntityManager, outside any context.
    await draft('Draft 3');
    const naive = await job.cleanUp(app.get(EntityManager), later).catch((error: unknown) => error);
    expect(naive).toBeInstanceOf(ValidationError);
    expect((naive as Error).message).toMatch(/Using global EntityManager instance methods for context specific actions is disallowed/);
    expect((await db.sql('select count(*)::int as n from article')).rows[0].n).toBe(1); // the draft is still there
    // …while the store's own part of it ran: the store needs no context (it keeps no identity map).
    expect((await db.sql('select count(*)::int as n from fullauth_refresh_tokens')).rows[0].n).toBe(0);
  });
});

describe('docs/nestjs.md', () => {
  it('shows the example app\'s code verbatim: each TypeScript excerpt is in the fixture file it names', () => {
    const page = readFileSync(join(ROOT, 'docs/nestjs.md'), 'utf8');
    const excerpts = [...page.matchAll(/^```typescript\n\/\/ ([\w.-]+\.ts)\n([\s\S]*?)^```$/gm)];
    expect(excerpts.length).toBeGreaterThanOrEqual(5);
    expect(page.match(/^```typescript$/gm)?.length).toBe(excerpts.length); // none without a file name
    for (const [, file, code] of excerpts) {
      expect(readFileSync(join(APP_DIR, file!), 'utf8'), `docs/nestjs.md's excerpt of ${file}`).toContain(code!);
    }
  });
});
