// Real MariaDB for the tests (MySQL protocol), and a real MySQL server beside it
// (scripts/mysql-server.sh: MySQL 9.7 on 127.0.0.1:3307): every test gets its own database,
// dropped afterwards. Under CI=true an unreachable server fails the run; elsewhere those suites
// are skipped with the reason printed.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

export const MARIADB_ADMIN_URL = process.env.FULLAUTH_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
/** MySQL itself (not MariaDB): the server scripts/mysql-server.sh starts. */
export const MYSQL_ADMIN_URL = process.env.FULLAUTH_TEST_MYSQL_SERVER_URL ?? 'mysql://root@127.0.0.1:3307/test';

async function probe(uri: string): Promise<{ error: string | null; version: string }> {
  try {
    const connection = await mysql.createConnection({ uri, connectTimeout: 3000 });
    const [rows] = await connection.query('select version() as v');
    await connection.end();
    return { error: null, version: String((rows as { v: string }[])[0]!.v) };
  } catch (error) {
    return { error: (error as Error).message, version: '' };
  }
}

const [mariaDb, mySql] = await Promise.all([probe(MARIADB_ADMIN_URL), probe(MYSQL_ADMIN_URL)]);
if (mariaDb.error && process.env.CI === 'true') {
  throw new Error(`MariaDB at ${MARIADB_ADMIN_URL} is unreachable (${mariaDb.error}); under CI=true the MariaDB tests are mandatory.`);
}
if (mariaDb.error) console.warn(`Skipping MariaDB tests: ${MARIADB_ADMIN_URL} is unreachable (${mariaDb.error}).`);
if (mySql.error && process.env.CI === 'true') {
  throw new Error(`MySQL at ${MYSQL_ADMIN_URL} is unreachable (${mySql.error}); under CI=true the MySQL tests are mandatory (bash scripts/mysql-server.sh starts it).`);
}
if (!mySql.error && /mariadb/i.test(mySql.version)) throw new Error(`${MYSQL_ADMIN_URL} is MariaDB (version ${mySql.version}), not MySQL`);
/** True when the MariaDB suites must be skipped (never under CI=true). */
export const skipMariaDb = mariaDb.error !== null;
/** Why the MySQL suites are skipped (never under CI=true), or undefined when MySQL answers. */
export const MYSQL_UNAVAILABLE = mySql.error === null ? undefined : `MySQL at ${MYSQL_ADMIN_URL} is unreachable: ${mySql.error}; bash scripts/mysql-server.sh starts it`;
/** The MySQL server's version (`9.7.4-2`), for titles. */
export const MYSQL_VERSION = mySql.version;

/** The servers of the MySQL family the tests run on: MariaDB, and MySQL itself. */
export type MySqlFamily = 'mariadb' | 'mysql';
export const MYSQL_FAMILY: Record<MySqlFamily, { name: string; adminUrl: string; skip: string | undefined }> = {
  mariadb: { name: 'MariaDB', adminUrl: MARIADB_ADMIN_URL, skip: mariaDb.error ?? undefined },
  mysql: { name: `MySQL ${mySql.version.replace(/-.*/, '')}`.trim(), adminUrl: MYSQL_ADMIN_URL, skip: MYSQL_UNAVAILABLE },
};

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

/** A database of its own on MariaDB, or on the MySQL server (`server: 'mysql'`). */
export async function createMariaDb(label = 'test', server: MySqlFamily = 'mariadb'): Promise<TestMariaDb> {
  const adminUrl = MYSQL_FAMILY[server].adminUrl;
  const name = `fullauth_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  await withConnection(adminUrl, (c) => c.query(`create database \`${name}\``));
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    sql: (text, params) =>
      withConnection(url.toString(), async (c) => {
        const [rows] = await c.query(text, params);
        return (Array.isArray(rows) ? rows : []) as Record<string, unknown>[];
      }),
    drop: () => withConnection(adminUrl, (c) => c.query(`drop database if exists \`${name}\``)).then(() => undefined),
  };
}

/**
 * The numbers 1 to `count` as column `seq` of a derived table (`from ${sequenceOf(n)}`), on
 * MariaDB and MySQL alike (MariaDB's own `seq_1_to_N` tables are not MySQL's).
 */
export function sequenceOf(count: number): string {
  const digits = `(${Array.from({ length: 10 }, (_, d) => `select ${d} as d`).join(' union all ')})`;
  const places = Math.max(1, Math.ceil(Math.log10(count)));
  const from = Array.from({ length: places }, (_, i) => `${digits} p${i}`).join(' cross join ');
  const sum = Array.from({ length: places }, (_, i) => `p${i}.d * ${10 ** i}`).join(' + ');
  return `(select ${sum} + 1 as seq from ${from}) numbers where seq <= ${count}`;
}
