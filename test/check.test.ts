// checkFullauthSchema(): every difference between the included groups and the live database.
import { afterAll, describe, expect, it } from 'vitest';
import { FULLAUTH_GROUPS, checkFullauthSchema, defineFullauthEntities, formatFullauthReport } from '../src/index.js';
import { fastapiFullauthDdl } from './support/fixture.js';
import { initOrm } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const databases: TestDatabase[] = [];
afterAll(() => Promise.all(databases.map((db) => db.drop())));

describe.skipIf(skipPostgres)('checkFullauthSchema()', () => {
  it('reports a database that matches as OK', async () => {
    const db = await createDatabase('check_ok');
    databases.push(db);
    await db.sql(fastapiFullauthDdl(FULLAUTH_GROUPS));
    await db.sql('create table unrelated (id int primary key, x text)');
    const orm = await initOrm({ kind: 'postgres', url: db.url }, { entities: [...defineFullauthEntities()] });
    try {
      const report = await checkFullauthSchema(orm);
      expect(report).toEqual({ ok: true, tables: expect.arrayContaining(['fullauth_users', 'fullauth_passkeys']), differences: [] });
      expect(formatFullauthReport(report)).toBe('fullauth schema: OK (8 tables match)');
    } finally {
      await orm.close();
    }
  });

  it('does not report type spellings as differences', async () => {
    const db = await createDatabase('check_types');
    databases.push(db);
    const { p } = await import('@mikro-orm/core');
    const orm = await initOrm({ kind: 'postgres', url: db.url }, {
      entities: [...defineFullauthEntities([], { user: { properties: { score: p.double().nullable(), rank: p.smallint().nullable() } } })],
    });
    try {
      await orm.schema.create();
      expect((await checkFullauthSchema(orm)).differences).toEqual([]);
    } finally {
      await orm.close();
    }
  });

  it('reports every difference precisely', async () => {
    const db = await createDatabase('check_drift');
    databases.push(db);
    const ddl = fastapiFullauthDdl(['base', 'role'])
      .replace('email VARCHAR(320) NOT NULL', 'email VARCHAR(255)')
      .replace('\tip_address VARCHAR(45),\n', '')
      .replace('user_agent VARCHAR(512),', 'user_agent VARCHAR(512), device TEXT,')
      .replace('CREATE INDEX ix_fullauth_refresh_tokens_family_id ON fullauth_refresh_tokens (family_id);', '')
      .replace('CREATE UNIQUE INDEX ix_fullauth_roles_name ON fullauth_roles (name);', 'CREATE INDEX ix_fullauth_roles_name ON fullauth_roles (name);')
      .replace('FOREIGN KEY(role_id) REFERENCES fullauth_roles (id) ON DELETE CASCADE', 'FOREIGN KEY(role_id) REFERENCES fullauth_roles (id)');
    await db.sql(ddl);
    await db.sql('create index ix_extra on fullauth_users (created_at)');
    await db.sql('alter table fullauth_refresh_tokens alter column created_at type timestamp without time zone');
    const orm = await initOrm({ kind: 'postgres', url: db.url }, { entities: [...defineFullauthEntities(['role', 'oauth'])] });
    try {
      const report = await checkFullauthSchema(orm);
      expect(report.ok).toBe(false);
      const lines = formatFullauthReport(report).split('\n');
      expect(lines[0]).toBe(`fullauth schema: ${report.differences.length} differences`);
      expect(report.differences).toEqual(
        expect.arrayContaining([
          { table: 'fullauth_oauth_accounts', kind: 'missing table', detail: 'table fullauth_oauth_accounts does not exist' },
          { table: 'fullauth_users', kind: 'column differs', detail: expect.stringMatching(/^email: .*type is "varchar\(255\)", expected "varchar\(320\)".*nullable is true, expected false/) },
          { table: 'fullauth_refresh_tokens', kind: 'missing column', detail: 'ip_address varchar(45)' },
          { table: 'fullauth_refresh_tokens', kind: 'unexpected column', detail: 'device text' },
          { table: 'fullauth_refresh_tokens', kind: 'missing index', detail: 'index ix_fullauth_refresh_tokens_family_id (family_id)' },
          { table: 'fullauth_users', kind: 'unexpected index', detail: 'index ix_extra (created_at)' },
          {
            table: 'fullauth_refresh_tokens',
            kind: 'column differs',
            detail: 'created_at: type is "timestamp(6)", expected "timestamptz"',
          },
          {
            table: 'fullauth_roles',
            kind: 'index differs',
            detail: 'expected unique index ix_fullauth_roles_name (name), found index ix_fullauth_roles_name (name)',
          },
          {
            table: 'fullauth_user_roles',
            kind: 'foreign key differs',
            detail: expect.stringMatching(/^expected fullauth_user_roles_role_id_fkey \(role_id\) → \S*fullauth_roles\(id\) on delete cascade.*, found .* on delete no action/),
          },
        ]),
      );
    } finally {
      await orm.close();
    }
  });
});
