// The auth data layer: behaviour on PostgreSQL and PGlite, and proof under concurrency on PostgreSQL;
// the MikroORM 6 PGlite config of docs/databases.md, run in the MikroORM 6 job.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  DuplicateEmailError,
  FullauthStoreError,
  GroupNotIncludedError,
  LastLoginMethodError,
  PasskeySignCountError,
  RefreshTokenReuseError,
  createFullauthStore,
  defineFullauthEntities,
  checkFullauthSchema,
  type FullauthGroup,
} from '../src/index.js';
import { MIKRO_ORM_6, describeTargets } from './support/compat.js';
import { removeDirs, scratchDir } from './support/databases.js';
import { checkedMikroOrm6Example } from './support/mikro-orm-6-example.js';
import { functionalSuite } from './support/store-suites.js';
import { initOrm, type Target } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const databases: TestDatabase[] = [];
const orms: MikroORM[] = [];
// Each test's ORMs and databases go when it ends: a race leaves its pool's connections open (20
// each), and PostgreSQL's 100 are shared with the other worker's test file.
afterEach(async () => {
  await Promise.all(orms.splice(0).map((o) => o.close()));
  await Promise.all(databases.splice(0).map((db) => db.drop()));
});

async function setup(kind: Target['kind'], include?: FullauthGroup[], options: { idStrategy?: 'bigint' } = {}) {
  let target: Target = { kind: 'pglite' };
  if (kind === 'postgres') {
    const db = await createDatabase('store');
    databases.push(db);
    target = { kind, url: db.url };
  }
  const orm = await initOrm(target, { entities: [...defineFullauthEntities(include, options)], pool: { max: 20 } });
  orms.push(orm);
  await orm.schema.create();
  return { orm, store: createFullauthStore(orm.em) };
}

const kinds = (['postgres', 'pglite'] as const).filter((k) => k === 'pglite' || !skipPostgres);

describeTargets(kinds, 'the store on %s', (kind) => {
  // The behaviour every database shares (test/support/store-suites.ts), then what is PostgreSQL's own.
  functionalSuite(kind);

  it(`reads back timestamps of any year as written${kind === 'pglite' ? ' (from year 100: PGlite parses timestamps itself, and reads 0001 as 2001)' : ' (years below 100 included)'}`, async () => {
    const { orm } = await setup(kind, []);
    const early = kind === 'pglite' ? [] : ['0001-01-01T00:00:00.000Z', '0099-03-04T05:06:07.500Z'];
    for (const at of [...early, '0100-01-01T00:00:00.000Z', '1999-12-31T23:59:59.999Z', '2026-06-01T12:00:00.000Z']) {
      const store = createFullauthStore(orm.em, { now: () => new Date(at) });
      const user = await store.createUser({ email: `y${at.slice(0, 4)}@x.io` });
      expect(user.createdAt.toISOString()).toBe(at);
      expect((await store.findUserById(user.id))!.createdAt.toISOString()).toBe(at);
      const issued = await store.issueRefreshToken(user.id);
      const [session] = await store.listSessions(user.id);
      expect(session?.startedAt.toISOString()).toBe(at);
      expect(session?.expiresAt.getTime()).toBe(issued.expiresAt.getTime());
    }
  });

  it('names the group an operation needs', async () => {
    const { store } = await setup(kind, []);
    await expect(store.assignRole('1', 'x')).rejects.toThrow(GroupNotIncludedError);
    await expect(store.assignRole('1', 'x')).rejects.toThrow(/needs the 'role' model group/);
  });
});

describe.skipIf(skipPostgres)('the store under concurrency on PostgreSQL', () => {
  it('50 parallel rotations of one token: exactly one success, and the family is revoked', async () => {
    const { store, orm } = await setup('postgres', []);
    const user = await store.createUser({ email: 'race@x.io' });
    const { token, familyId } = await store.issueRefreshToken(user.id);
    const results = await Promise.allSettled(Array.from({ length: 50 }, () => store.rotateRefreshToken(token)));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect(won).toHaveLength(1);
    expect(lost.every((r) => (r as PromiseRejectedResult).reason instanceof RefreshTokenReuseError)).toBe(true);
    const live = await orm.em.fork().getConnection().execute(`select count(*)::int as n from fullauth_refresh_tokens where family_id = '${familyId}' and not revoked`);
    expect(live[0]!.n).toBe(0);
  });

  it('assignRole of a role the user holds takes no lock: it returns while another transaction keeps writes out of the links table; a new role waits for it', async () => {
    const { store } = await setup('postgres', ['role']);
    const ann = await store.createUser({ email: 'ann@x.io' });
    await store.assignRole(ann.id, 'reader');
    const other = new pg.Client({ connectionString: databases.at(-1)!.url });
    await other.connect();
    try {
      // EXCLUSIVE: every write of the table waits; reads do not.
      await other.query('begin');
      await other.query('lock table fullauth_user_roles in exclusive mode');
      const held = await Promise.race([store.assignRole(ann.id, 'reader').then(() => 'returned'), new Promise((resolve) => setTimeout(resolve, 2000, 'blocked'))]);
      expect(held).toBe('returned');
      let done = false;
      const writing = store.assignRole(ann.id, 'writer').then(() => (done = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(done).toBe(false);
      await other.query('commit');
      await writing;
      expect(await store.listRoles(ann.id)).toEqual(['reader', 'writer']);
    } finally {
      await other.end();
    }
  });

  it('20 parallel sign-ups with the same e-mail in different cases: exactly one user', async () => {
    const { store, orm } = await setup('postgres', []);
    const emails = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'Same@Example.com' : ` same@example.COM${' '.repeat(i % 3)}`));
    const results = await Promise.allSettled(emails.map((email) => store.createUser({ email })));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason instanceof DuplicateEmailError)).toBe(true);
    const rows = await orm.em.fork().getConnection().execute(`select count(*)::int as n from fullauth_users`);
    expect(rows[0]!.n).toBe(1);
  });

  it('parallel OAuth links: one row, every caller gets it', async () => {
    const { store, orm } = await setup('postgres', ['oauth']);
    const user = await store.createUser({ email: 'link@x.io' });
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.linkOAuthAccount({ userId: user.id, provider: 'github', providerUserId: '7' })),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.account.id)).size).toBe(1);
    const rows = await orm.em.fork().getConnection().execute(`select count(*)::int as n from fullauth_oauth_accounts`);
    expect(rows[0]!.n).toBe(1);
  });

  it('parallel passkey uses: the sign count never decreases', async () => {
    const { store, orm } = await setup('postgres', ['passkey']);
    const user = await store.createUser({ email: 'sc@x.io' });
    await store.registerPasskey({ userId: user.id, credentialId: 'c', publicKey: 'pk' });
    // The database records every change of the count, in commit order.
    await orm.em.getConnection().execute(`
      create table sign_audit (old_count int, new_count int);
      create function audit_sign() returns trigger as $$ begin insert into sign_audit values (old.sign_count, new.sign_count); return new; end $$ language plpgsql;
      create trigger audit_sign after update on fullauth_passkeys for each row execute function audit_sign();`);
    const counts = Array.from({ length: 40 }, (_, i) => i + 1).sort(() => Math.random() - 0.5);
    const results = await Promise.allSettled(counts.map((count) => store.recordPasskeyUse('c', count)));
    const accepted = results.filter((r) => r.status === 'fulfilled').length;
    const rejected = results.filter((r) => r.status === 'rejected');
    expect(rejected.every((r) => (r as PromiseRejectedResult).reason instanceof PasskeySignCountError)).toBe(true);
    expect((await store.findPasskey('c'))?.signCount).toBe(40);
    const audit = await orm.em.getConnection().execute<{ old_count: number; new_count: number }[]>('select * from sign_audit');
    expect(audit).toHaveLength(accepted);
    expect(audit.filter((a) => a.new_count <= a.old_count)).toEqual([]);
  });

  it('parallel unlinks never remove the last way to log in', async () => {
    const { store } = await setup('postgres', ['oauth']);
    const user = await store.createUser({ email: 'two@x.io' });
    await store.linkOAuthAccount({ userId: user.id, provider: 'a', providerUserId: '1' });
    await store.linkOAuthAccount({ userId: user.id, provider: 'b', providerUserId: '1' });
    const results = await Promise.allSettled([store.unlinkOAuthAccount(user.id, 'a'), store.unlinkOAuthAccount(user.id, 'b')]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason).toBeInstanceOf(LastLoginMethodError);
  });

  it('sets the host\'s own user properties', async () => {
    const db = await createDatabase('store_extra');
    databases.push(db);
    const { p } = await import('@mikro-orm/core');
    const orm = await initOrm({ kind: 'postgres', url: db.url }, {
      entities: [...defineFullauthEntities([], { user: { properties: { displayName: p.string().length(100) } } })],
    });
    orms.push(orm);
    await orm.schema.create();
    const store = createFullauthStore(orm.em);
    const user = await store.createUser({ email: 'x@x.io', extra: { displayName: 'Ann' } });
    const [row] = await orm.em.getConnection().execute(`select display_name from fullauth_users where id = '${user.id}'`);
    expect(row!.display_name).toBe('Ann');
    await expect(store.createUser({ email: 'y@x.io', extra: { nickname: 'x' } })).rejects.toThrow(
      /'nickname' is not a host property of the user. Host properties: displayName/,
    );
  });

  it('works with database-made bigint ids', async () => {
    const { store } = await setup('postgres', ['permission'], { idStrategy: 'bigint' });
    const user = await store.createUser({ email: 'big@x.io' });
    expect(user.id).toMatch(/^\d+$/);
    await store.assignRole(user.id, 'admin');
    await store.grantPermission('admin', 'x:y');
    expect(await store.hasPermission(user.id, 'x:y')).toBe(true);
    const t = await store.issueRefreshToken(user.id);
    expect((await store.rotateRefreshToken(t.token)).familyId).toBe(t.familyId);
    // Leading zeros name the same user, handed on as the database writes the id.
    expect((await store.issueRefreshToken(`00${user.id}`, { familyId: t.familyId })).userId).toBe(user.id);
    expect((await store.findUserById(`0${user.id}`))?.id).toBe(user.id);
  });
});

describe.skipIf(skipPostgres)('the store in a host transaction', () => {
  it('keeps the transaction usable, and rotation refuses to run inside it', async () => {
    const db = await createDatabase('store_tx');
    databases.push(db);
    const { p } = await import('@mikro-orm/core');
    const orm = await initOrm({ kind: 'postgres', url: db.url }, {
      entities: [
        ...defineFullauthEntities(['role'], {
          user: { properties: { username: p.string().length(50).unique().nullable(), tags: p.array().nullable() } },
        }),
      ],
    });
    orms.push(orm);
    await orm.schema.create();
    const outside = createFullauthStore(orm.em);
    const ann = await outside.createUser({ email: 'ann@x.io', extra: { username: 'ann', tags: ['a', 'b'] } });
    const token = await outside.issueRefreshToken(ann.id);
    // Another clash than the e-mail is not reported as a taken e-mail.
    const clash = await outside.createUser({ email: 'other@x.io', extra: { username: 'ann' } }).catch((e: unknown) => e);
    expect(clash).toBeInstanceOf(FullauthStoreError);
    expect(clash).not.toBeInstanceOf(DuplicateEmailError);

    await orm.em.fork().transactional(async (em) => {
      const store = createFullauthStore(em);
      expect(await store.findUserById('not-a-uuid')).toBeNull();
      await store.assignRole(ann.id, 'editor'); // the transaction still works
      await expect(store.rotateRefreshToken(token.token)).rejects.toThrow(/rotateRefreshToken\(\) runs on its own/);
    });
    expect(await outside.listRoles(ann.id)).toEqual(['editor']);
    const [row] = await orm.em.getConnection().execute(`select tags from fullauth_users where id = '${ann.id}'`);
    expect(row!.tags).toEqual(['a', 'b']);
  });
  it("assignRole in a caller's REPEATABLE READ transaction does not trust its snapshot: a role removed since is given again", async () => {
    const { store, orm } = await setup('postgres', ['role']);
    const { IsolationLevel } = await import('@mikro-orm/core');
    const ann = await store.createUser({ email: 'ann@x.io' });
    await store.assignRole(ann.id, 'reader');
    await orm.em.fork().transactional(
      async (em) => {
        const inside = createFullauthStore(em);
        expect(await inside.listRoles(ann.id)).toEqual(['reader']); // the snapshot is taken here
        // Removed by another connection, committed after the snapshot (orm.em here would be this transaction's).
        const other = new pg.Client({ connectionString: databases.at(-1)!.url });
        await other.connect();
        expect((await other.query('delete from fullauth_user_roles where user_id = $1', [ann.id])).rowCount).toBe(1);
        await other.end();
        expect(await inside.listRoles(ann.id)).toEqual(['reader']); // still in the snapshot
        // A read in the snapshot would still see the link; the write path links the role again.
        await inside.assignRole(ann.id, 'reader');
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ },
    );
    expect(await store.listRoles(ann.id)).toEqual(['reader']);
  });
});

const ROOT = new URL('..', import.meta.url).pathname;
const docsDirs: string[] = [];
afterAll(() => removeDirs(docsDirs));

describe('docs/databases.md on MikroORM 6: PGlite over @electric-sql/pglite-socket', () => {
  const title = 'the example type-checks against MikroORM 6, migrates, serves the store on one connection, refuses a second client, and keeps its data across a reopen';
  (MIKRO_ORM_6 ? it : it.skip)(
    MIKRO_ORM_6 ? title : `${title} (skipped on MikroORM 7: the example is MikroORM 6's, and @electric-sql/pglite-socket is installed in the MikroORM 6 job only)`,
    async () => {
      const dir = scratchDir('docs-pglite-socket', docsDirs);
      const example = await checkedMikroOrm6Example('docs/databases.md', dir);

      // Run: the package from src/, the files in the scratch folder.
      const module = join(dir, 'db.ts');
      writeFileSync(
        module,
        example
          .replace("from 'mikro-orm-fullauth'", `from ${JSON.stringify(join(ROOT, 'src/index.js'))}`)
          .replace("'./pgdata'", JSON.stringify(join(dir, 'pgdata')))
          .replace("'./migrations'", JSON.stringify(join(dir, 'migrations'))),
      );
      type Opened = { orm: MikroORM & { getMigrator(): Migrator6 }; close(): Promise<void> };
      type Migrator6 = { createInitialMigration(): Promise<unknown>; up(): Promise<{ name: string }[]>; getPendingMigrations(): Promise<unknown[]> };
      const { openDatabase } = (await import(/* @vite-ignore */ module)) as { openDatabase(): Promise<Opened> };

      let { orm, close } = await openDatabase();
      let url: string;
      try {
        url = orm.config.get('clientUrl')!;
        await orm.getMigrator().createInitialMigration();
        expect(await orm.getMigrator().up()).toHaveLength(1);
        expect((await checkFullauthSchema(orm)).ok).toBe(true);
        const store = createFullauthStore(orm.em);
        const user = await store.createUser({ email: 'Docs@Example.com' });
        // Calls at once queue for the one connection.
        const issued = await Promise.all([1, 2, 3, 4].map(() => store.issueRefreshToken(user.id)));
        await store.rotateRefreshToken(issued[0]!.token);
        // A transaction, with a savepoint inside it, on that connection.
        await orm.em.fork().transactional(async (em) => {
          await createFullauthStore(em).assignRole(user.id, 'editor');
          await em.transactional(async (inner) => void (await createFullauthStore(inner).assignRole(user.id, 'admin')));
        });
        expect((await store.listRoles(user.id)).sort()).toEqual(['admin', 'editor']);
        expect(await store.listSessions(user.id)).toHaveLength(4);

        // The ORM holds the server's one connection: another client is turned away.
        const other = new pg.Client({ connectionString: url });
        await expect(other.connect().then(() => other.query('select 1'))).rejects.toThrow(/Connection terminated unexpectedly/);
        await other.end().catch(() => undefined);
        expect(await store.findUserByEmail('docs@example.com')).toMatchObject({ id: user.id });
      } finally {
        await close();
      }
      // Closed: nothing listens on the port any more.
      const after = new pg.Client({ connectionString: url });
      await expect(after.connect()).rejects.toThrow(/ECONNREFUSED/);

      ({ orm, close } = await openDatabase());
      try {
        expect(await orm.getMigrator().getPendingMigrations()).toEqual([]);
        expect(await createFullauthStore(orm.em).findUserByEmail('docs@example.com')).not.toBeNull();
      } finally {
        await close();
      }
    },
  );
});
