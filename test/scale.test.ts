// Every store query is served by an index at scale: 100,000 users and 1,000,000 refresh
// tokens on real PostgreSQL, the store's own statements captured and EXPLAINed.
import type { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFullauthStore, defineFullauthEntities, type FullauthStore } from '../src/index.js';
import { recordDriverQueries, type DriverQuery } from './support/driver-log.js';
import { runEveryStoreOperation } from './support/scale-workload.js';
import { initOrm } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const USERS = 100_000;
const TOKENS = 1_000_000;

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}
const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

describe.skipIf(skipPostgres)(`store queries at scale (${USERS} users, ${TOKENS} refresh tokens)`, () => {
  let db: TestDatabase;
  let orm: MikroORM;
  let store: FullauthStore;
  let captured: DriverQuery[] = [];
  let stopRecording = () => undefined as void;

  beforeAll(async () => {
    db = await createDatabase('scale');
    orm = await initOrm({ kind: 'postgres', url: db.url }, { entities: [...defineFullauthEntities(undefined, { performanceIndexes: true })] });
    await orm.schema.create();
    await db.sql(`
      insert into fullauth_users (id, email, hashed_password, is_active, is_verified, is_superuser, created_at)
        select gen_random_uuid(), 'user' || g || '@example.com', 'h', true, false, false, now() from generate_series(1, ${USERS}) g;
      create temporary table numbered as select id, row_number() over (order by email) as n from fullauth_users;
      -- Loaded as a bulk load is: the token table's secondary indexes (as the schema made them)
      -- built after its rows, rows in primary-key order, foreign keys not re-checked row by row
      -- (each row's user comes from the table itself). A third of the time of a row-by-row insert.
      set session_replication_role = replica;
      set maintenance_work_mem = '256MB';
      create temporary table token_indexes as
        select indexname, indexdef from pg_indexes where schemaname = current_schema() and tablename = 'fullauth_refresh_tokens' and indexname <> 'fullauth_refresh_tokens_pkey';
      do $$ declare i record; begin for i in select indexname from token_indexes loop execute format('drop index %I', i.indexname); end loop; end $$;
      insert into fullauth_refresh_tokens (id, token, user_id, family_id, expires_at, revoked, user_agent, ip_address, created_at)
        select * from (
          select gen_random_uuid(), md5(g::text) || md5((-g)::text), u.id, 'family-' || (g / 4), now() + interval '1 hour' * (g % 1000 + 1),
                 g % 3 = 0, 'agent', '127.0.0.1', now() - interval '1 second' * g
          from generate_series(1, ${TOKENS}) g join numbered u on u.n = g % ${USERS} + 1) rows order by 1;
      do $$ declare i record; begin for i in select indexdef from token_indexes loop execute i.indexdef; end loop; end $$;
      reset session_replication_role;
      insert into fullauth_roles (id, name) select gen_random_uuid(), 'role' || g from generate_series(1, 20) g;
      insert into fullauth_permissions (id, name, description) select gen_random_uuid(), 'perm:' || g, '' from generate_series(1, 50) g;
      insert into fullauth_role_permissions (role_id, permission_id) select r.id, p.id from fullauth_roles r join fullauth_permissions p on (hashtext(r.name || p.name) % 4 = 0);
      insert into fullauth_user_roles (user_id, role_id) select u.id, r.id from numbered u join fullauth_roles r on r.name = 'role' || (u.n % 20 + 1);
      insert into fullauth_oauth_accounts (id, provider, provider_user_id, user_id, created_at) select gen_random_uuid(), 'github', n::text, id, now() from numbered;
      insert into fullauth_passkeys (id, user_id, credential_id, public_key, sign_count, device_name, transports, backed_up, created_at)
        select gen_random_uuid(), id, 'cred-' || n, 'pk', 1, '', '', false, now() from numbered;
      analyze;`);
    store = createFullauthStore(orm.em);
    // Record the statements the store sends (what the pg driver receives, with bound values), to EXPLAIN them below.
    const recording = recordDriverQueries();
    captured = recording.queries;
    stopRecording = recording.stop;
  }, 600_000);

  afterAll(async () => {
    stopRecording();
    await orm?.close();
    await db?.drop();
  });

  it('uses an index for every hot path', async () => {
    const { userId } = await runEveryStoreOperation(store, { purgeBefore: new Date(Date.now() + 30 * 60 * 1000) });
    const big = new Set(['fullauth_users', 'fullauth_refresh_tokens', 'fullauth_user_roles', 'fullauth_oauth_accounts', 'fullauth_passkeys']);
    const statements = captured.filter(({ text }) => /^\s*(with|select|update|delete|insert)/i.test(text) && !/^\s*select pg_|^\s*select 1\b/i.test(text));
    stopRecording();
    expect(statements.length).toBeGreaterThan(25);
    expect(statements.some(({ text }) => /"spent" as \(update/.test(text))).toBe(true); // the rotation
    expect(statements.every(({ text }) => !text.includes(userId))).toBe(true); // values are bound, not in the text
    const seqScans: string[] = [];
    const client = new pg.Client(db.url);
    await client.connect();
    try {
      for (const { text, values } of statements) {
        const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`explain (format json) ${text}`, values);
        for (const node of nodes(rows[0]!['QUERY PLAN'][0].Plan)) {
          if (node['Node Type'] === 'Seq Scan' && big.has(node['Relation Name'] ?? '')) {
            seqScans.push(`${node['Relation Name']}: ${text.replace(/\s+/g, ' ').slice(0, 120)}`);
          }
        }
      }
    } finally {
      await client.end();
    }
    expect(seqScans).toEqual([]);
  });

  it('needs the opt-in index for sessions (the contract alone scans the table)', async () => {
    const user = (await store.findUserByEmail('user77@example.com'))!;
    // Inside a transaction that is rolled back: the index is only gone for this EXPLAIN.
    const types = await orm.em.fork().transactional(async (em) => {
      await em.execute('drop index "ix_fullauth_refresh_tokens_user_id"');
      const [row] = await em.execute<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
        `explain (format json) select * from fullauth_refresh_tokens where user_id = '${user.id}' and revoked = false`,
      );
      throw Object.assign(new Error('rollback'), { types: nodes(row!['QUERY PLAN'][0].Plan).map((n) => n['Node Type']) });
    }).catch((error: { types?: string[] }) => error.types);
    expect(types).toContain('Seq Scan');
    const still = await orm.em.getConnection().execute(`select 1 from pg_indexes where indexname = 'ix_fullauth_refresh_tokens_user_id'`);
    expect(still).toHaveLength(1);
  });
});
