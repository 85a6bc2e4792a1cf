// No store statement scans a large table on SQLite: 100,000 users and 1,000,000 refresh tokens
// (bulk-inserted with a recursive CTE), the store's own statements captured at the driver
// (node:sqlite on MikroORM 7, libSQL on MikroORM 6: text and bound values) and run through
// EXPLAIN QUERY PLAN. As test/scale.test.ts on PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFullauthStore, defineFullauthEntities, type FullauthStore } from '../src/index.js';
import { MIKRO_ORM_6 } from './support/compat.js';
import { SQLITE_NAME } from './support/databases.js';
import { cleanUp, storeTarget, type StoreTarget } from './support/store-targets.js';
import { runEveryStoreOperation } from './support/scale-workload.js';

const USERS = 100_000;
const TOKENS = 1_000_000;

interface Captured {
  text: string;
  values: unknown[];
}

/** Installed in the MikroORM 6 job only (ci/mikro-orm-6), so imported by a name the type-checker does not follow. */
const LIBSQL = 'libsql';

/** Records the statements the driver prepares and the values each runs with; `stop()` puts it back. */
async function recordStatements(): Promise<{ statements: Captured[]; stop(): void }> {
  // node:sqlite's DatabaseSync (values spread), or libsql's Database on MikroORM 6 (values as one array).
  const Database = MIKRO_ORM_6 ? ((await import(/* @vite-ignore */ LIBSQL)) as { default: { prototype: object } }).default : (await import('node:sqlite')).DatabaseSync;
  const proto = Database.prototype as unknown as { prepare(sql: string): Record<string, unknown> };
  const original = proto.prepare;
  const statements: Captured[] = [];
  proto.prepare = function (this: unknown, sql: string) {
    const statement = original.call(this, sql);
    for (const method of ['all', 'run', 'get'] as const) {
      const run = statement[method] as (...args: unknown[]) => unknown;
      statement[method] = (...values: unknown[]) => {
        statements.push({ text: sql, values: MIKRO_ORM_6 && Array.isArray(values[0]) ? values[0] : values });
        return run.apply(statement, values);
      };
    }
    return statement;
  };
  return { statements, stop: () => void (proto.prepare = original) };
}

describe(`store statements at scale on ${SQLITE_NAME} (${USERS} users, ${TOKENS} refresh tokens)`, () => {
  let target: StoreTarget;
  let store: FullauthStore;

  beforeAll(async () => {
    target = await storeTarget('sqlite', ['permission', 'oauth', 'passkey'], { orms: 1, entities: { performanceIndexes: true } });
    await target.sql(`insert into fullauth_users (id, email, hashed_password, is_active, is_verified, is_superuser, created_at)
      with recursive s(n) as (select 1 union all select n + 1 from s where n < ${USERS})
      select printf('%032x', n), 'user' || n || '@example.com', 'h', 1, 0, 0, '2026-01-01 00:00:00.000000' from s`);
    await target.sql(`insert into fullauth_refresh_tokens (id, token, user_id, family_id, expires_at, revoked, user_agent, ip_address, created_at)
      with recursive s(n) as (select 1 union all select n + 1 from s where n < ${TOKENS})
      select printf('t%031x', n), printf('%064x', n), printf('%032x', n % ${USERS} + 1), 'family-' || (n / 4),
             printf('2999-01-01 %02d:00:00.000000', n % 24), n % 3 = 0, 'agent', '127.0.0.1', '2026-01-01 00:00:00.000000' from s`);
    for (const sql of [
      `insert into fullauth_roles (id, name) with recursive s(n) as (select 1 union all select n + 1 from s where n < 20) select printf('r%031x', n), 'role' || n from s`,
      `insert into fullauth_permissions (id, name, description) with recursive s(n) as (select 1 union all select n + 1 from s where n < 50) select printf('p%031x', n), 'perm:' || n, '' from s`,
      `insert into fullauth_role_permissions (role_id, permission_id) select r.id, p.id from fullauth_roles r join fullauth_permissions p on (length(r.name) + length(p.name) + r.rowid + p.rowid) % 4 = 0`,
      `insert into fullauth_user_roles (user_id, role_id) select id, printf('r%031x', rowid % 20 + 1) from fullauth_users`,
      `insert into fullauth_oauth_accounts (id, provider, provider_user_id, user_id, created_at) select printf('o%031x', rowid), 'github', rowid, id, created_at from fullauth_users`,
      `insert into fullauth_passkeys (id, user_id, credential_id, public_key, sign_count, device_name, transports, backed_up, created_at)
         select printf('k%031x', rowid), id, 'cred-' || rowid, 'pk', 1, '', '', 0, created_at from fullauth_users`,
      'analyze',
    ]) {
      await target.sql(sql);
    }
    store = createFullauthStore(target.orm.em);
  }, 600_000);

  afterAll(cleanUp);

  it('scans no large table in any statement of any operation', async () => {
    const recording = await recordStatements();
    try {
      await runEveryStoreOperation(store, { purgeBefore: new Date('2026-06-01T00:00:00Z') });
    } finally {
      recording.stop();
    }
    expect(Number((await target.sql('select count(*) as n from fullauth_refresh_tokens'))[0]!.n)).toBeGreaterThanOrEqual(TOKENS);
    expect(Number((await target.sql('select count(*) as n from fullauth_users'))[0]!.n)).toBe(USERS);
    // The check itself finds a scan where there is one.
    expect((await target.sql('explain query plan select * from fullauth_refresh_tokens where revoked = 0')).map((s) => String(s.detail))).toContain('SCAN fullauth_refresh_tokens');
    const big = ['fullauth_users', 'fullauth_refresh_tokens', 'fullauth_user_roles', 'fullauth_oauth_accounts', 'fullauth_passkeys'];
    const statements = recording.statements.filter(({ text }) => /^\s*(select|update|delete|insert)/i.test(text));
    expect(statements.length).toBeGreaterThan(30);
    expect(statements.some(({ text }) => /update "fullauth_refresh_tokens" set "revoked" = true where "token" = \?/.test(text))).toBe(true);
    const scans: string[] = [];
    for (const { text, values } of statements) {
      const plan = await target.sql(`explain query plan ${text}`, values);
      for (const step of plan) {
        // "SCAN t" (the table) or "SCAN t USING [COVERING] INDEX i" (the whole index): every row read.
        const scanned = /^SCAN (\w+)/.exec(String(step.detail))?.[1];
        if (scanned && big.includes(scanned)) scans.push(`${String(step.detail)}: ${text.replace(/\s+/g, ' ').slice(0, 140)}`);
      }
    }
    expect(scans).toEqual([]);
  });
});
