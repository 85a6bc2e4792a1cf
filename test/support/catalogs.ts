// What a MariaDB/MySQL or SQLite database really holds for its tables, read from the
// server's own catalog, in a shape two databases can be compared by (the contract tests).
import { existsSync } from 'node:fs';
import { openSqlite } from './databases.js';
import type { TestMariaDb } from './mariadb.js';

export interface PortableTable {
  name: string;
  /** Engine and collation (MySQL) — empty on SQLite. */
  options: string;
  columns: string[];
  indexes: string[];
  foreignKeys: string[];
}

export async function readMySqlTables(db: TestMariaDb): Promise<PortableTable[]> {
  const schema = `'${db.name}'`;
  const tables = await db.sql(
    `select table_name as name, engine as engine, table_collation as collation from information_schema.tables where table_schema = ${schema} order by table_name`,
  );
  const columns = await db.sql(`select table_name as t, column_name as name, column_type as type, is_nullable as nullable,
      column_default as def, extra as extra from information_schema.columns where table_schema = ${schema} order by table_name, ordinal_position`);
  const indexes = await db.sql(`select table_name as t, index_name as name, non_unique as non_unique,
      group_concat(column_name order by seq_in_index) as cols from information_schema.statistics
      where table_schema = ${schema} group by table_name, index_name, non_unique order by table_name, index_name`);
  const keys = await db.sql(`select r.table_name as t, r.constraint_name as name, r.update_rule as update_rule, r.delete_rule as delete_rule, r.referenced_table_name as ref,
      group_concat(k.column_name order by k.ordinal_position) as cols, group_concat(k.referenced_column_name order by k.ordinal_position) as refcols
      from information_schema.referential_constraints r
      join information_schema.key_column_usage k on k.constraint_schema = r.constraint_schema and k.constraint_name = r.constraint_name and k.table_name = r.table_name
      where r.constraint_schema = ${schema} group by r.table_name, r.constraint_name, r.update_rule, r.delete_rule, r.referenced_table_name
      order by r.table_name, r.constraint_name`);
  return tables
    .filter((t) => t.name !== 'mikro_orm_migrations')
    .map((t) => ({
      name: String(t.name),
      options: `${t.engine} ${t.collation}`,
      columns: columns
        .filter((c) => c.t === t.name)
        .map((c) => `${c.name} ${c.type}${c.nullable === 'NO' ? ' not null' : ''}${c.def == null || c.def === 'NULL' ? '' : ` default ${c.def}`}${c.extra ? ` ${c.extra}` : ''}`),
      indexes: indexes.filter((i) => i.t === t.name).map((i) => `${Number(i.non_unique) ? '' : 'unique '}${i.name} (${i.cols})`),
      foreignKeys: keys
        .filter((k) => k.t === t.name)
        .map((k) => `${k.name} (${k.cols}) → ${k.ref}(${k.refcols}) on update ${k.update_rule} on delete ${k.delete_rule}`),
    }));
}

/**
 * SQLite keeps no names for constraints written inside CREATE TABLE: an inline
 * `CONSTRAINT uq UNIQUE (…)` becomes an automatic index, named here after its constraint.
 */
export async function readSqliteTables(file: string): Promise<PortableTable[]> {
  if (!existsSync(file)) return [];
  // node:sqlite (Node 22), or libSQL on the MikroORM 6 job.
  const db = await openSqlite(file, { readOnly: true });
  try {
    const tables = db.all(`select name, sql from sqlite_master where type = 'table' and name not like 'sqlite_%' and name != 'mikro_orm_migrations' order by name`) as { name: string; sql: string }[];
    return tables.map(({ name, sql }) => {
      const quoted = `"${name.replace(/"/g, '""')}"`;
      const columns = db.all(`pragma table_info(${quoted})`) as { name: string; type: string; notnull: number; dflt_value: unknown; pk: number }[];
      const indexList = db.all(`pragma index_list(${quoted})`) as { name: string; unique: number; origin: string }[];
      const inline = [...sql.matchAll(/constraint\s+[`"]?(\w+)[`"]?\s+unique\s*\(([^)]*)\)/gi)].map((m) => ({
        name: m[1]!,
        cols: m[2]!.replace(/[`"\s]/g, ''),
      }));
      const indexes = indexList
        .filter((i) => i.origin !== 'pk')
        .map((i) => {
          const cols = (db.all(`pragma index_info("${i.name.replace(/"/g, '""')}")`) as { name: string }[]).map((c) => c.name).join(',');
          const label = i.origin === 'u' ? (inline.find((c) => c.cols === cols)?.name ?? '(unnamed unique constraint)') : i.name;
          return `${i.unique ? 'unique ' : ''}${label} (${cols})`;
        })
        .sort();
      const keys = db.all(`pragma foreign_key_list(${quoted})`) as { id: number; seq: number; table: string; from: string; to: string; on_update: string; on_delete: string }[];
      return {
        name,
        options: '',
        columns: columns.map((c) => `${c.name} ${c.type.toLowerCase()}${c.notnull ? ' not null' : ''}${c.pk ? ` pk${c.pk}` : ''}${c.dflt_value == null ? '' : ` default ${c.dflt_value}`}`),
        indexes,
        foreignKeys: keys
          .map((k) => `(${k.from}) → ${k.table}(${k.to}) on update ${k.on_update} on delete ${k.on_delete}`)
          .sort(),
      };
    });
  } finally {
    db.close();
  }
}
