// The store against the same statements sent through the raw `pg` driver, in one run on
// real PostgreSQL: sign-in lookup, refresh rotation and permission check.
import { createHash, randomBytes } from 'node:crypto';
import { MikroORM } from '@mikro-orm/postgresql';
import pg from 'pg';
import { uuidv7 } from 'uuidv7';
import { createFullauthStore, defineFullauthEntities } from '../src/index.js';

const ADMIN_URL = process.env.FULLAUTH_TEST_PG_URL ?? 'postgresql://root@127.0.0.1:5432/test';
const OPS = Number(process.env.BENCH_STORE_OPS ?? 2000);

interface Figures {
  perSecond: number;
  p50: number;
  p99: number;
}

async function measure(ops: number, op: (i: number) => Promise<unknown>): Promise<Figures> {
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < ops; i++) {
    const t = performance.now();
    await op(i);
    times.push(performance.now() - t);
  }
  const total = performance.now() - start;
  times.sort((a, b) => a - b);
  return { perSecond: (ops / total) * 1000, p50: times[Math.floor(ops * 0.5)]!, p99: times[Math.floor(ops * 0.99)]! };
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

export async function runStoreBench(): Promise<string[]> {
  const admin = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await admin.connect();
  } catch (error) {
    return [`store vs raw pg: skipped, PostgreSQL at ${ADMIN_URL} is unreachable (${(error as Error).message})`];
  }
  const name = `fullauth_bench_${randomBytes(4).toString('hex')}`;
  await admin.query(`create database "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  const orm = await MikroORM.init({ clientUrl: url.toString(), entities: [...defineFullauthEntities()], debug: false });
  const pool = new pg.Pool({ connectionString: url.toString(), max: 4 });
  try {
    await orm.schema.create();
    const store = createFullauthStore(orm.em);
    const users: { id: string }[] = [];
    for (let i = 0; i < 200; i++) users.push(await store.createUser({ email: `user${i}@example.com`, hashedPassword: 'h' }));
    await store.syncRoles({ editor: ['articles:read', 'articles:write'] });
    for (const u of users) await store.assignRole(u.id, 'editor');

    const lookupRaw = (i: number) => pool.query('select * from fullauth_users where email = $1', [`user${i % 200}@example.com`]);
    const lookupStore = (i: number) => store.findUserByEmail(`user${i % 200}@example.com`);
    const permissionSql = `select exists (select 1 from fullauth_users u where u.id = $1 and (u.is_superuser or exists (
      select 1 from fullauth_user_roles ur join fullauth_role_permissions rp on rp.role_id = ur.role_id
      join fullauth_permissions p on p.id = rp.permission_id where ur.user_id = u.id and p.name = $2))) as ok`;
    const permissionRaw = (i: number) => pool.query(permissionSql, [users[i % 200]!.id, 'articles:write']);
    const permissionStore = (i: number) => store.hasPermission(users[i % 200]!.id, 'articles:write');

    let storeToken = (await store.issueRefreshToken(users[0]!.id)).token;
    const rotateStore = async () => {
      storeToken = (await store.rotateRefreshToken(storeToken)).token;
    };
    let rawToken = (await store.issueRefreshToken(users[1]!.id)).token;
    const rotateRaw = async () => {
      const old = digest(rawToken);
      const { rows } = await pool.query('select user_id, family_id, expires_at, revoked from fullauth_refresh_tokens where token = $1', [old]);
      if (!rows[0] || (rows[0] as { revoked: boolean }).revoked) throw new Error('lost');
      rawToken = randomBytes(32).toString('base64url');
      const won = await pool.query(
        `with spent as (update fullauth_refresh_tokens set revoked = true where token = $1 and revoked = false returning user_id, family_id)
         insert into fullauth_refresh_tokens (id, token, user_id, family_id, expires_at, revoked, user_agent, ip_address, created_at)
         select $2, $3, user_id, family_id, $4, false, null, null, $5 from spent returning id, user_id, family_id`,
        [old, uuidv7(), digest(rawToken), new Date(Date.now() + 86400000), new Date()],
      );
      if (won.rowCount !== 1) throw new Error('lost');
    };

    const lines = [`store vs raw pg (PostgreSQL 127.0.0.1, ${OPS} sequential operations each, after a warm-up)`];
    for (const [label, storeOp, rawOp] of [
      ['sign-in lookup   ', lookupStore, lookupRaw],
      ['refresh rotation ', rotateStore, rotateRaw],
      ['permission check ', permissionStore, permissionRaw],
    ] as const) {
      await measure(200, storeOp);
      await measure(200, rawOp);
      const s = await measure(OPS, storeOp);
      const r = await measure(OPS, rawOp);
      const ratio = s.perSecond / r.perSecond;
      lines.push(
        `  ${label} store ${s.perSecond.toFixed(0).padStart(6)}/s (p50 ${s.p50.toFixed(3)} ms, p99 ${s.p99.toFixed(3)} ms)` +
          `  raw ${r.perSecond.toFixed(0).padStart(6)}/s (p50 ${r.p50.toFixed(3)} ms, p99 ${r.p99.toFixed(3)} ms)` +
          `  ratio ${ratio.toFixed(2)} (goal ≥ 0.60: ${ratio >= 0.6 ? 'met' : 'MISSED'})`,
      );
    }
    return lines;
  } finally {
    await pool.end();
    await orm.close();
    await admin.query(`drop database if exists "${name}" with (force)`);
    await admin.end();
  }
}
