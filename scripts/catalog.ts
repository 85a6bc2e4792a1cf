// Reads what a PostgreSQL database (server or PGlite) really holds for some tables, from
// the system catalog. Used by the main job to print the result and by the contract tests.
export interface SqlRunner {
  execute(sql: string): Promise<unknown>;
}

export interface ColumnInfo {
  name: string;
  type: string;
  nullable: boolean;
  default: string | null;
}
export interface ConstraintInfo {
  name: string;
  /** `p` primary key, `f` foreign key, `u` unique, `c` check. */
  kind: string;
  definition: string;
}
export interface IndexInfo {
  name: string;
  definition: string;
}
export interface TableInfo {
  name: string;
  columns: ColumnInfo[];
  constraints: ConstraintInfo[];
  /** Indexes that no constraint owns (primary and unique constraints bring their own). */
  indexes: IndexInfo[];
}

const list = (names: readonly string[]) => names.map((n) => `'${n.replace(/'/g, "''")}'`).join(', ');

export async function readTables(db: SqlRunner, tables: readonly string[]): Promise<TableInfo[]> {
  if (tables.length === 0) return [];
  const wanted = list(tables);
  const columns = (await db.execute(`
    select c.relname as "table", a.attname as name, format_type(a.atttypid, a.atttypmod) as type,
           not a.attnotnull as nullable, pg_get_expr(d.adbin, d.adrelid) as "default"
    from pg_attribute a
    join pg_class c on c.oid = a.attrelid
    join pg_namespace n on n.oid = c.relnamespace
    left join pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
    where n.nspname = current_schema() and c.relkind = 'r' and c.relname in (${wanted})
      and a.attnum > 0 and not a.attisdropped
    order by c.relname, a.attnum`)) as (ColumnInfo & { table: string })[];
  const constraints = (await db.execute(`
    select c.relname as "table", con.conname as name, con.contype as kind, pg_get_constraintdef(con.oid) as definition
    from pg_constraint con
    join pg_class c on c.oid = con.conrelid
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = current_schema() and c.relname in (${wanted})
    order by c.relname, position(con.contype in 'pufc'), con.conname`)) as (ConstraintInfo & { table: string })[];
  const indexes = (await db.execute(`
    select i.tablename as "table", i.indexname as name, i.indexdef as definition
    from pg_indexes i
    where i.schemaname = current_schema() and i.tablename in (${wanted})
      and not exists (select 1 from pg_constraint con where con.conname = i.indexname
                      and con.connamespace = (select oid from pg_namespace where nspname = i.schemaname))
    order by i.tablename, i.indexname`)) as (IndexInfo & { table: string })[];

  const present = new Set(columns.map((c) => c.table));
  return tables
    .filter((t) => present.has(t))
    .map((name) => ({
      name,
      columns: columns.filter((c) => c.table === name).map(({ table: _t, ...c }) => c),
      constraints: constraints.filter((c) => c.table === name).map(({ table: _t, ...c }) => c),
      indexes: indexes.filter((i) => i.table === name).map(({ table: _t, ...i }) => i),
    }));
}

const KIND: Record<string, string> = { p: 'primary key', f: 'foreign key', u: 'unique', c: 'check' };

/** A human-readable listing of one table, as the main job prints it. */
export function formatTable(table: TableInfo, indent = '  '): string {
  const width = Math.max(...table.columns.map((c) => c.name.length));
  const lines = [`${indent}${table.name}`];
  for (const c of table.columns) {
    const extra = c.default === null ? '' : `  default ${c.default}`;
    lines.push(`${indent}  ${c.name.padEnd(width)}  ${c.type}${c.nullable ? '' : ' not null'}${extra}`);
  }
  for (const k of table.constraints) lines.push(`${indent}  ${KIND[k.kind] ?? k.kind} ${k.name}: ${k.definition}`);
  for (const i of table.indexes) {
    const columns = /\((.*)\)$/.exec(i.definition)?.[1] ?? i.definition;
    lines.push(`${indent}  ${i.definition.startsWith('CREATE UNIQUE') ? 'unique index' : 'index'} ${i.name}: (${columns})`);
  }
  return lines.join('\n');
}
