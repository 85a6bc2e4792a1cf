// Real MariaDB for the tests (MySQL protocol): every test gets its own database, dropped
// afterwards. Under CI=true an unreachable server fails the run; elsewhere those suites
// are skipped with the reason printed.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

export const MARIADB_ADMIN_URL = process.env.FULLAUTH_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

async function probe(): Promise<string | null> {
  try {
    const connection = await mysql.createConnection({ uri: MARIADB_ADMIN_URL, connectTimeout: 3000 });
    await connection.query('select 1');
    await connection.end();
    return null;
  } catch (error) {
    return (error as Error).message;
  }
}

const unreachable = await probe();
if (unreachable && process.env.CI === 'true') {
  throw new Error(`MariaDB at ${MARIADB_ADMIN_URL} is unreachable (${unreachable}); under CI=true the MariaDB tests are mandatory.`);
}
if (unreachable) console.warn(`Skipping MariaDB tests: ${MARIADB_ADMIN_URL} is unreachable (${unreachable}).`);
/** True when the MariaDB suites must be skipped (never under CI=true). */
export const skipMariaDb = unreachable !== null;

export interface TestMariaDb {
  name: string;
  url: string;
  /** Runs SQL (several statements allowed) on the test database; returns the rows of the last one. */
  sql(text: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  drop(): Promise<void>;
}

async function withConnection<T>(uri: string, fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const connection = await mysql.createConnection({ uri, multipleStatements: true, dateStrings: true });
  try {
    return await fn(connection);
  } finally {
    await connection.end();
  }
}

export async function createMariaDb(label = 'test'): Promise<TestMariaDb> {
  const name = `fullauth_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await withConnection(MARIADB_ADMIN_URL, (c) => c.query(`create database \`${name}\``));
  const url = new URL(MARIADB_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    sql: (text, params) =>
      withConnection(url.toString(), async (c) => {
        const [rows] = await c.query(text, params);
        return (Array.isArray(rows) ? rows : []) as Record<string, unknown>[];
      }),
    drop: () => withConnection(MARIADB_ADMIN_URL, (c) => c.query(`drop database if exists \`${name}\``)).then(() => undefined),
  };
}
