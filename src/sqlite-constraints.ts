import type { MikroORM } from '@mikro-orm/core';

export interface IndexLike {
  keyName: string;
  columnNames: string[];
  unique: boolean;
  constraint?: boolean;
  primary: boolean;
  composite?: boolean;
}
/** The part of an introspected table used here (MikroORM 6 and 7 both have it). */
export interface TableLike {
  name: string;
  getIndexes(): IndexLike[];
  setIndexes?(indexes: IndexLike[]): void;
  getForeignKeys?(): Record<string, { constraintName: string }>;
}

/** Runs a query and returns its rows (the ORM's connection). */
export type QueryRows = (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>;

/** The ORM's connection as a row reader. */
export const queryRows =
  (orm: { em: Pick<MikroORM['em'], 'getConnection'> }): QueryRows =>
  (sql, params) =>
    orm.em.getConnection().execute(sql, params, 'all') as Promise<Record<string, unknown>[]>;

const INLINE_UNIQUE = /constraint\s+[`"[]?(\w+)[`"\]]?\s+unique\s*\(([^)]*)\)/gi;

/** The named unique constraints declared inside a CREATE TABLE statement, as index entries. */
export function parseInlineUniques(createTableSql: string): Array<IndexLike & { composite: boolean; constraint: true }> {
  return [...createTableSql.matchAll(INLINE_UNIQUE)].map(([, name, columns]) => {
    const columnNames = columns!.split(',').map((column) => column.trim().replace(/^[`"[]|[`"\]]$/g, ''));
    return { keyName: name!, columnNames, unique: true, constraint: true, primary: false, composite: columnNames.length > 1 };
  });
}

/**
 * fastapi-fullauth declares `uq_oauth_provider_user` inside CREATE TABLE (and so does this
 * package's SQLite DDL, see sqlite/ddl.ts); SQLite keeps it as an automatic index without the
 * name, which MikroORM's introspection skips, so its diff would add the unique index a second
 * time. Reads the named inline unique constraints back from the table's SQL and puts them
 * into the introspected schema under their names (and, on MikroORM 6, keys the foreign keys
 * by their names).
 */
export async function addSqliteInlineUniques(schema: { getTables(): TableLike[] }, tables: ReadonlySet<string>, query: QueryRows): Promise<void> {
  for (const table of schema.getTables()) {
    if (!tables.has(table.name)) continue;
    const [row] = await query(`select sql from sqlite_master where type = 'table' and name = ?`, [table.name]);
    const sql = typeof row?.sql === 'string' ? row.sql : '';
    // MikroORM 7 hands out a copy (set it back); MikroORM 6 its own list.
    const indexes = table.getIndexes();
    for (const unique of parseInlineUniques(sql)) {
      if (!indexes.some((index) => index.keyName === unique.keyName)) indexes.push(unique);
    }
    table.setIndexes?.(indexes);
    // MikroORM 6 keys SQLite's live foreign keys by column; its comparator matches and removes
    // them by constraint name, so each would read as "unexpected": keyed by name here, as on 7.
    const keys = table.getForeignKeys?.() ?? {};
    for (const [key, fk] of Object.entries(keys)) {
      if (key === fk.constraintName) continue;
      delete keys[key];
      keys[fk.constraintName] = fk;
    }
  }
}
