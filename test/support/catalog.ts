import pg from 'pg';
import { readTables, type TableInfo } from '../../scripts/catalog.js';

/** What the catalog of a PostgreSQL database holds for every table in its current schema. */
export async function readAllTables(url: string): Promise<TableInfo[]> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    const runner = { execute: async (sql: string) => (await client.query(sql)).rows };
    const names = (await runner.execute(
      `select tablename from pg_tables where schemaname = current_schema() order by tablename`,
    )) as { tablename: string }[];
    return await readTables(runner, names.map((n) => n.tablename).filter((n) => n !== 'mikro_orm_migrations'));
  } finally {
    await client.end();
  }
}
