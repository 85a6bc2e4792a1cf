// Every store statement is served by an index at scale on MariaDB and on MySQL: 100,000 users
// and 1,000,000 refresh tokens (bulk-inserted from a generated sequence), the store's own statements
// captured at mysql2 (text and bound values) and EXPLAINed. As test/scale.test.ts on PostgreSQL.
import mysql from 'mysql2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFullauthStore, defineFullauthEntities, type FullauthStore } from '../src/index.js';
import { runEveryStoreOperation } from './support/scale-workload.js';
import { initOtherOrm } from './support/databases.js';
import { MYSQL_FAMILY, createMariaDb, sequenceOf, type TestMariaDb } from './support/mariadb.js';
import { MIKRO_ORM_6 } from './support/compat.js';

const USERS = 100_000;
const TOKENS = 1_000_000;

interface Captured {
  text: string;
  values: unknown[];
}

/** Records what mysql2 connections are asked to `execute()` (the store's statements); `stop()` puts it back. */
function recordExecutes(): { statements: Captured[]; stop(): void } {
  const proto = Object.getPrototypeOf(mysql.Connection.prototype) as { execute: (...args: unknown[]) => unknown };
  const original = proto.execute;
  const statements: Captured[] = [];
  proto.execute = function (this: unknown, ...args: unknown[]) {
    const [sql, values] = args as [string | { sql: string; values?: unknown[] }, unknown];
    if (typeof sql === 'string') statements.push({ text: sql, values: Array.isArray(values) ? values : [] });
    else if (sql && typeof sql.sql === 'string') statements.push({ text: sql.sql, values: sql.values ?? (Array.isArray(values) ? values : []) });
    return original.apply(this, args);
  };
  return { statements, stop: () => void (proto.execute = original) };
}

// The statements are captured at mysql2's execute(), which MikroORM 7's connection uses; MikroORM 6 sends them through knex.
/** A 32-hex-digit id made from `expr` (MySQL 9 has no MD5()). */
const id = (expr: string) => `left(sha2(${expr}, 256), 32)`;

for (const kind of ['mariadb', 'mysql'] as const) {
  const { name, skip } = MYSQL_FAMILY[kind];
  describe.skipIf(!!skip || MIKRO_ORM_6)(`store statements at scale on ${name} (${USERS} users, ${TOKENS} refresh tokens)${MIKRO_ORM_6 ? ' (skipped on MikroORM 6: the recorder watches mysql2 execute(), which MikroORM 6 does not call; its plans are the same statements)' : skip ? ` (skipped: ${skip})` : ''}`, () => {
    let db: TestMariaDb;
    let orm: Awaited<ReturnType<typeof initOtherOrm>>;
    let store: FullauthStore;
    let recording: ReturnType<typeof recordExecutes> | undefined;

    beforeAll(async () => {
      db = await createMariaDb('scale', kind);
      orm = await initOtherOrm({ kind, url: db.url }, { entities: [...defineFullauthEntities(undefined, { performanceIndexes: true })] } as never);
      await orm.schema.create();
      await db.sql(`
        set foreign_key_checks = 0; set unique_checks = 0;
        insert into fullauth_users (id, email, hashed_password, is_active, is_verified, is_superuser, created_at)
          select ${id(`seq`)}, concat('user', seq, '@example.com'), 'h', 1, 0, 0, utc_timestamp() from ${sequenceOf(USERS)};
        insert into fullauth_refresh_tokens (id, token, user_id, family_id, expires_at, revoked, user_agent, ip_address, created_at)
          select lpad(hex(seq), 32, '0'), sha2(seq, 256), ${id(`seq % ${USERS} + 1`)}, concat('family-', seq div 4),
                 utc_timestamp() + interval (seq % 1000 + 1) hour, seq % 3 = 0, 'agent', '127.0.0.1', utc_timestamp() - interval seq second
          from ${sequenceOf(TOKENS)};
        insert into fullauth_roles (id, name) select ${id(`concat('r', seq)`)}, concat('role', seq) from ${sequenceOf(20)};
        insert into fullauth_permissions (id, name, description) select ${id(`concat('p', seq)`)}, concat('perm:', seq), '' from ${sequenceOf(50)};
        insert into fullauth_role_permissions (role_id, permission_id) select r.id, p.id from fullauth_roles r join fullauth_permissions p on crc32(concat(r.name, p.name)) % 4 = 0;
        insert into fullauth_user_roles (user_id, role_id) select ${id(`seq`)}, ${id(`concat('r', seq % 20 + 1)`)} from ${sequenceOf(USERS)};
        insert into fullauth_oauth_accounts (id, provider, provider_user_id, user_id, created_at) select ${id(`concat('o', seq)`)}, 'github', seq, ${id(`seq`)}, utc_timestamp() from ${sequenceOf(USERS)};
        insert into fullauth_passkeys (id, user_id, credential_id, public_key, sign_count, device_name, transports, backed_up, created_at)
          select ${id(`concat('k', seq)`)}, ${id(`seq`)}, concat('cred-', seq), 'pk', 1, '', '', 0, utc_timestamp() from ${sequenceOf(USERS)};
        analyze table fullauth_users, fullauth_refresh_tokens, fullauth_roles, fullauth_permissions, fullauth_role_permissions, fullauth_user_roles, fullauth_oauth_accounts, fullauth_passkeys;`);
      store = createFullauthStore(orm.em);
    }, 600_000);

    afterAll(async () => {
      recording?.stop();
      await orm?.close();
      await db?.drop();
    });

    it('uses an index for every statement of every operation', async () => {
      recording = recordExecutes();
      const { userId } = await runEveryStoreOperation(store, { purgeBefore: new Date(Date.now() + 30 * 60 * 1000) });
      recording.stop();

      const big = new Set(['fullauth_users', 'fullauth_refresh_tokens', 'fullauth_user_roles', 'fullauth_oauth_accounts', 'fullauth_passkeys']);
      const statements = recording.statements.filter(({ text }) => /^\s*(select|update|delete|insert)/i.test(text) && !/^\s*select (get_lock|release_lock)\(/i.test(text));
      expect(statements.length).toBeGreaterThan(30);
      expect(statements.some(({ text }) => /update `fullauth_refresh_tokens` set `revoked` = true where `token` = \?/.test(text))).toBe(true); // the rotation
      expect(statements.every(({ text }) => !text.includes(userId.replace(/-/g, '')))).toBe(true); // values are bound, not in the text
      const scans: string[] = [];
      const connection = mysql.createConnection({ uri: db.url, dateStrings: true });
      try {
        for (const { text, values } of statements) {
          const rows = await new Promise<Record<string, unknown>[]>((resolve, reject) =>
            connection.execute(`explain ${text}`, values as never[], (error, result) => (error ? reject(new Error(`${error.message}: ${text}`)) : resolve(result as Record<string, unknown>[]))),
          );
          for (const row of rows) {
            // An INSERT … VALUES explains as its target with type ALL: it reads nothing.
            if (row.select_type === 'INSERT') continue;
            if ((row.type === 'ALL' || row.type === 'index') && big.has(String(row.table))) scans.push(`${String(row.table)} (${String(row.type)}): ${text.replace(/\s+/g, ' ').slice(0, 140)}`);
          }
        }
      } finally {
        connection.end();
      }
      expect(scans).toEqual([]);
    });
  });
}
