// Real PostgreSQL for the tests: every test gets its own database, dropped afterwards.
// Under CI=true an unreachable server fails the run; elsewhere those suites are skipped
// with the reason printed.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { databaseDropped, databaseMade } from './connection-budget.js';

export const PG_ADMIN_URL = process.env.FULLAUTH_TEST_PG_URL ?? 'postgresql://root@127.0.0.1:5432/test';

async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return null;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const unreachable = await probe();
if (unreachable && process.env.CI === 'true') {
  throw new Error(`PostgreSQL at ${PG_ADMIN_URL} is unreachable (${unreachable}); under CI=true the PostgreSQL tests are mandatory.`);
}
if (unreachable) {
  console.warn(`Skipping PostgreSQL tests: ${PG_ADMIN_URL} is unreachable (${unreachable}).`);
}
/** True when the PostgreSQL suites must be skipped (never under CI=true). */
export const skipPostgres = unreachable !== null;

export interface TestDatabase {
  name: string;
  url: string;
  /** Runs SQL on the test database (a short-lived connection). */
  sql(text: string): Promise<pg.QueryResult>;
  drop(): Promise<void>;
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(PG_ADMIN_URL);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `encoding`: a database in another server encoding than UTF8 (LATIN1, say), with the C locale it needs. */
export async function createDatabase(label = 'test', { encoding }: { encoding?: 'LATIN1' } = {}): Promise<TestDatabase> {
  const name = `fullauth_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const options = encoding ? ` encoding '${encoding}' lc_collate 'C' lc_ctype 'C' template template0` : '';
  await admin((c) => c.query(`create database "${name}"${options}`));
  databaseMade(name, PG_ADMIN_URL);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async sql(text) {
      const client = new pg.Client(url.toString());
      await client.connect();
      try {
        return await client.query(text);
      } finally {
        await client.end();
      }
    },
    async drop() {
      await admin((c) => c.query(`drop database if exists "${name}" with (force)`));
      databaseDropped(name);
    },
  };
}
