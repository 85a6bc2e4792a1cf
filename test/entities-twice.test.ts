// defineFullauthEntities() called twice — once for the config, once in app code — and the two
// sets mixed: MikroORM knows only the classes it discovered, so using the other call's entities
// with an ORM fails, with an error that names the cause and the fix (docs/getting-started.md#one-set-of-entities)
// instead of MikroORM's "Cannot set properties of undefined (setting '__schema')".
import type { EntitySchema } from '@mikro-orm/core';
import { afterAll, describe, expect, it } from 'vitest';
import { defineFullauthEntities, FullauthConfigError } from '../src/index.js';
import { itOnMikroOrm7 } from './support/compat.js';
import { initOrm } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const databases: TestDatabase[] = [];
afterAll(() => Promise.all(databases.map((db) => db.drop())));

async function ormWith(entities: Iterable<EntitySchema>) {
  const db = await createDatabase('twice');
  databases.push(db);
  const orm = await initOrm({ kind: 'postgres', url: db.url }, { entities: [...entities] });
  await orm.schema.create();
  return { orm, db };
}

const CAUSE = /FullauthUser was used with a MikroORM instance that did not discover it: it comes from another defineFullauthEntities\(\) call/;
const FIX = /Call defineFullauthEntities\(\) once, in a module of its own .* import that module both in mikro-orm\.config\.ts and in the application code/;

describe.skipIf(skipPostgres)('defineFullauthEntities() called twice, on PostgreSQL', () => {
  it('one set of entities, shared by the config and the app code, works', async () => {
    const auth = defineFullauthEntities(['base', 'role']);
    const { orm } = await ormWith(auth);
    try {
      const em = orm.em.fork();
      const user = em.create(auth.FullauthUser, { email: 'ann@example.com', hashedPassword: null });
      user.roles.add(em.create(auth.FullauthRole, { name: 'editor' }));
      await em.flush();
      const found = await orm.em.fork().findOneOrFail(auth.FullauthUser, { email: 'ann@example.com' }, { populate: ['roles'] });
      expect(found.roles.getItems().map((r) => r.name)).toEqual(['editor']);
    } finally {
      await orm.close();
    }
  });

  itOnMikroOrm7(
    "another call's entities fail with a FullauthConfigError naming the cause and the fix, and nothing is written",
    'MikroORM 6 resolves an entity by its class name, so there the other call\'s FullauthUser finds the discovered metadata',
    async () => {
      const config = defineFullauthEntities(['base', 'role']);
      const app = defineFullauthEntities(['base', 'role']);
      const { orm, db } = await ormWith(config);
      try {
        const em = orm.em.fork();
        const uses: [string, () => unknown][] = [
          ['em.create', () => em.create(app.FullauthUser, { email: 'ann@example.com', hashedPassword: null })],
          ['em.find', () => em.find(app.FullauthUser, {})],
          ['em.findOne', () => em.findOne(app.FullauthUser, { email: 'ann@example.com' })],
          ['em.getReference', () => em.getReference(app.FullauthUser, '0190a000-0000-7000-8000-000000000000')],
          ['em.count', () => em.count(app.FullauthUser)],
          ['a query builder', () => em.createQueryBuilder(app.FullauthUser).getQuery()],
          ['a repository', () => em.getRepository(app.FullauthUser).findAll()],
        ];
        for (const [label, use] of uses) {
          const error = await (async () => {
            try {
              await use();
            } catch (caught) {
              return caught;
            }
            return undefined;
          })();
          expect(error, label).toBeInstanceOf(FullauthConfigError);
          expect((error as Error).message, label).toMatch(CAUSE);
          expect((error as Error).message, label).toMatch(FIX);
        }
        await em.flush();
        expect((await db.sql('select count(*)::int as n from fullauth_users')).rows[0].n).toBe(0);

        // The ORM and its own entities are unharmed.
        const fresh = orm.em.fork();
        fresh.create(config.FullauthUser, { email: 'ann@example.com', hashedPassword: null });
        await fresh.flush();
        expect(await orm.em.fork().count(config.FullauthUser)).toBe(1);
      } finally {
        await orm.close();
      }
    },
  );

  it('each call works with the ORM that discovered it', async () => {
    const first = defineFullauthEntities([]);
    const second = defineFullauthEntities([]);
    const one = await ormWith(first);
    const two = await ormWith(second);
    try {
      const a = one.orm.em.fork();
      const b = two.orm.em.fork();
      a.create(first.FullauthUser, { email: 'one@example.com' });
      b.create(second.FullauthUser, { email: 'two@example.com' });
      await Promise.all([a.flush(), b.flush()]);
      expect((await one.db.sql('select email from fullauth_users')).rows).toEqual([{ email: 'one@example.com' }]);
      expect((await two.db.sql('select email from fullauth_users')).rows).toEqual([{ email: 'two@example.com' }]);
    } finally {
      await one.orm.close();
      await two.orm.close();
    }
  });
});
