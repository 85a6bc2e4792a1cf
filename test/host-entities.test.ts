// Host entities related to the user in MikroORM's three styles (EntitySchema, defineEntity, a
// decorated class), each with an explicit delete rule, migrated with the Migrator on real
// PostgreSQL; `store.deleteUser()` then does what each rule says (docs/host-entities.md).
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MIKRO_ORM_6 } from './support/compat.js';
import { initOrm } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

// The fixture is imported inside the tests: on MikroORM 6 (ci/mikro-orm-6) neither
// @mikro-orm/decorators nor MikroORM 7's defineEntity() builders exist, and this file must still load.
type Fixture = typeof import('./fixtures/host-entities/entities.js');
const FIXTURE = './fixtures/host-entities/entities.js';
const loadFixture = () => import(/* @vite-ignore */ FIXTURE) as Promise<Fixture>;

const TMP_ROOT = new URL('../.fullauth-dev/test-tmp/', import.meta.url).pathname;
const databases: TestDatabase[] = [];
const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(databases.map((db) => db.drop()));
  dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
});

async function migrated() {
  const { entities, auth, Comment, Article, Invoice } = await loadFixture();
  const db = await createDatabase('host_entities');
  databases.push(db);
  // Inside the repository, so the generated migration resolves @mikro-orm/migrations.
  mkdirSync(TMP_ROOT, { recursive: true });
  const path = mkdtempSync(join(TMP_ROOT, 'host-entities-'));
  dirs.push(path);
  const orm = await initOrm({ kind: 'postgres', url: db.url }, { entities, migrations: { path } });
  await orm.migrator.create(undefined, false, true);
  await orm.migrator.up();
  const migration = readdirSync(path).filter((f) => f.endsWith('.ts')).map((f) => readFileSync(join(path, f), 'utf8')).join('\n');
  return { db, orm, migration, auth, Comment, Article, Invoice };
}

const REASON = 'skipped on MikroORM 6: @mikro-orm/decorators and defineEntity()\'s p builders are MikroORM 7\'s';
const suite = MIKRO_ORM_6 ? describe.skip : describe.skipIf(skipPostgres);

suite(`host entities related to the user: EntitySchema, defineEntity, decorators${MIKRO_ORM_6 ? ` (${REASON})` : ''}`, () => {
  it('the Migrator creates each foreign key with its delete rule: cascade, set null, restrict', async () => {
    const { db, orm, migration } = await migrated();
    try {
      expect(migration).toMatch(/foreign key \("author_id"\) references "fullauth_users" \("id"\) on delete cascade/);
      expect(migration).toMatch(/foreign key \("author_id"\) references "fullauth_users" \("id"\) on delete set null/);
      expect(migration).toMatch(/foreign key \("customer_id"\) references "fullauth_users" \("id"\) on delete restrict/);
      const { rows } = await db.sql(`
        select tc.table_name, kcu.column_name, rc.delete_rule, c.is_nullable
          from information_schema.referential_constraints rc
          join information_schema.table_constraints tc on tc.constraint_name = rc.constraint_name
          join information_schema.key_column_usage kcu on kcu.constraint_name = rc.constraint_name
          join information_schema.columns c on c.table_name = tc.table_name and c.column_name = kcu.column_name
         where tc.table_name in ('comment', 'article', 'invoice')
         order by tc.table_name`);
      expect(rows).toEqual([
        { table_name: 'article', column_name: 'author_id', delete_rule: 'SET NULL', is_nullable: 'YES' },
        { table_name: 'comment', column_name: 'author_id', delete_rule: 'CASCADE', is_nullable: 'NO' },
        { table_name: 'invoice', column_name: 'customer_id', delete_rule: 'RESTRICT', is_nullable: 'NO' },
      ]);
      // Migrated: nothing left to create.
      expect((await orm.migrator.create()).diff.up).toEqual([]);
    } finally {
      await orm.close();
    }
  });

  it('deleteUser(): restrict refuses with UserReferencedError (nothing deleted), then cascade deletes the comment and set null keeps the article', async () => {
    const { createFullauthStore, UserReferencedError } = await import('../src/index.js');
    const { db, orm, auth, Comment, Article, Invoice } = await migrated();
    try {
      const store = createFullauthStore(orm.em);
      const ann = await store.createUser({ email: 'ann@example.com' });
      const em = orm.em.fork();
      const author = em.getReference(auth.FullauthUser, ann.id);
      em.create(Comment, { id: 1, body: 'First!', author });
      em.create(Article, { id: 1, title: 'Hello', author });
      em.create(Invoice, { id: 1, total: '9.90', customer: author });
      await em.flush();
      const count = async (table: string) => Number((await db.sql(`select count(*) as n from ${table}`)).rows[0].n);

      const refused = await store.deleteUser(ann.id).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(UserReferencedError);
      expect(refused).toMatchObject({ userId: ann.id, table: 'invoice', constraint: 'invoice_customer_id_foreign' });
      expect([await count('fullauth_users'), await count('comment'), await count('article'), await count('invoice')]).toEqual([1, 1, 1, 1]);

      // The invoice is the host's to settle (here: deleted); then the user can go.
      const invoice = await em.findOneOrFail(Invoice, 1);
      expect(invoice).toBeInstanceOf(Invoice); // the decorated class is the entity
      await em.remove(invoice).flush();
      expect(await store.deleteUser(ann.id)).toBe(true);

      expect(await count('fullauth_users')).toBe(0);
      expect(await count('comment')).toBe(0); // cascade: gone with its author
      expect((await db.sql('select id, title, author_id from article')).rows).toEqual([{ id: 1, title: 'Hello', author_id: null }]); // set null: kept
      const article = await orm.em.fork().findOneOrFail(Article, 1);
      expect(article.author).toBeNull();
    } finally {
      await orm.close();
    }
  });
});
