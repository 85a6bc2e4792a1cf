import type { EntityManager, IDatabaseDriver, MetadataStorage } from '@mikro-orm/core';
import type { DatabaseSchema, DatabaseTable, SchemaDifference } from '@mikro-orm/sql';
import { definitionOf } from './build-schema.js';
import { dialectOf } from './dialects.js';
import { FullauthConfigError, showValue } from './errors.js';
import { driverOf, loadSqlLayer, setSchemaTables } from './orm-compat.js';
import { addSqliteInlineUniques, queryRows } from './sqlite-constraints.js';

export interface FullauthSchemaDifference {
  table: string;
  kind:
    | 'missing table'
    | 'missing column'
    | 'unexpected column'
    | 'column differs'
    | 'missing index'
    | 'unexpected index'
    | 'index differs'
    | 'missing foreign key'
    | 'unexpected foreign key'
    | 'foreign key differs';
  /** What differs, e.g. `email: length is 255, expected 320`. */
  detail: string;
}

export interface FullauthSchemaReport {
  ok: boolean;
  /** The fullauth tables compared (the included groups' tables). */
  tables: string[];
  differences: FullauthSchemaDifference[];
}

type Comparison = { fromSchema: DatabaseSchema; toSchema: DatabaseSchema };
interface PlainSchemaGenerator {
  prepareSchemaForComparison(options: object): Promise<Comparison>;
}

/**
 * Compares what the included groups expect with the live database and reports every
 * difference: missing tables, missing or unexpected columns, columns whose type, length or
 * nullability differ, and missing, unexpected or different indexes and foreign keys.
 * Tables outside fullauth are not looked at.
 */
/**
 * Any MikroORM instance (6.6 or 7, any driver, however its entity list is typed: `defineConfig`
 * infers a readonly one), as far as the check needs one.
 */
export interface CheckedOrm {
  getMetadata(): MetadataStorage;
  readonly em: EntityManager;
  readonly config: { getDriver(): IDatabaseDriver };
}

export async function checkFullauthSchema(orm: CheckedOrm): Promise<FullauthSchemaReport> {
  // It takes no options; without an ORM there is nothing to compare with (no default applies).
  if (typeof orm !== 'object' || orm === null || typeof orm.getMetadata !== 'function') {
    throw new FullauthConfigError(`checkFullauthSchema() needs a MikroORM instance, got ${showValue(orm)}.`);
  }
  const metadata = orm.getMetadata() as MetadataStorage;
  const tables = [...metadata].filter((meta) => definitionOf(meta.class)).map((meta) => meta.tableName);
  if (tables.length === 0) {
    throw new FullauthConfigError('checkFullauthSchema(): this ORM has no fullauth entities.');
  }
  const driver = driverOf(orm);
  const platform = driver.getPlatform() as unknown as { getSchemaGenerator?(driver: unknown, em: unknown): unknown };
  if (typeof platform.getSchemaGenerator !== 'function') {
    throw new FullauthConfigError('checkFullauthSchema() needs an SQL driver.');
  }
  // A plain generator (not the guarded one the hooks may install), so nothing is filtered out.
  const generator = platform.getSchemaGenerator(driver, orm.em) as PlainSchemaGenerator;
  const { fromSchema, toSchema } = await generator.prepareSchemaForComparison({ safe: false, dropTables: true });
  const keep = (schema: DatabaseSchema) => setSchemaTables(schema, schema.getTables().filter((t) => tables.includes(t.name)));
  keep(fromSchema);
  keep(toSchema);
  if (dialectOf(driver.getPlatform()) === 'sqlite') await addSqliteInlineUniques(fromSchema, new Set(tables), queryRows(orm));
  const { SchemaComparator } = await loadSqlLayer();
  const diff = new SchemaComparator(driver.getPlatform() as never).compare(fromSchema, toSchema) as SchemaDifference;
  const described = describe(diff, fromSchema);
  const differences = [...described, ...uniqueIndexDifferences(fromSchema, toSchema), ...columnTypeDifferences(fromSchema, toSchema, described)];
  return { ok: differences.length === 0, tables, differences };
}

const show = (value: unknown) => (value === undefined || value === null ? String(value) : JSON.stringify(value));

/**
 * The contract's unique indexes are spelled out as SQL (see build-schema.ts), which MikroORM
 * compares by name only; compare their uniqueness and columns here.
 */
function uniqueIndexDifferences(from: DatabaseSchema, to: DatabaseSchema): FullauthSchemaDifference[] {
  const out: FullauthSchemaDifference[] = [];
  for (const table of to.getTables()) {
    const live = from.getTables().find((t) => t.name === table.name);
    if (!live) continue;
    for (const index of table.getIndexes().filter((i) => i.expression && i.unique)) {
      const found = live.getIndexes().find((i) => i.keyName === index.keyName);
      if (found && (!found.unique || found.columnNames.join() !== index.columnNames.join())) {
        out.push({ table: table.name, kind: 'index differs', detail: `expected ${indexText(index)}, found ${indexText(found)}` });
      }
    }
  }
  return out;
}

/** Spellings of one column type, so that only real differences count. */
const TYPE_ALIASES: Record<string, string> = {
  'timestamp with time zone': 'timestamptz',
  'timestamp without time zone': 'timestamp',
  'character varying': 'varchar',
  character: 'char',
  integer: 'int4',
  int: 'int4',
  smallint: 'int2',
  bigint: 'int8',
  'double precision': 'float8',
  real: 'float4',
  boolean: 'bool',
};
function canonicalType(type: string): string {
  const t = type.toLowerCase().trim().replace(/\s+/g, ' ');
  const [, base = t, args = ''] = /^([a-z ]+?)\s*(\(.*\))?$/.exec(t) ?? [];
  const name = TYPE_ALIASES[base] ?? base;
  // timestamp(6) is the default precision
  return `${name}${(name === 'timestamptz' || name === 'timestamp') && args === '(6)' ? '' : args}`;
}

/**
 * MikroORM maps some types to one runtime type and does not diff them (a `timestamptz`
 * column that became `timestamp` loses the zone); compare the database types themselves.
 */
function columnTypeDifferences(from: DatabaseSchema, to: DatabaseSchema, reported: FullauthSchemaDifference[]): FullauthSchemaDifference[] {
  const out: FullauthSchemaDifference[] = [];
  for (const table of to.getTables()) {
    const live = from.getTables().find((t) => t.name === table.name);
    if (!live) continue;
    for (const column of table.getColumns()) {
      const found = live.getColumn(column.name);
      if (!found || canonicalType(found.type) === canonicalType(column.type)) continue;
      if (reported.some((r) => r.table === table.name && r.detail.startsWith(`${column.name}:`))) continue;
      out.push({ table: table.name, kind: 'column differs', detail: `${column.name}: type is "${found.type}", expected "${column.type}"` });
    }
  }
  return out;
}

function describe(diff: SchemaDifference, from: DatabaseSchema): FullauthSchemaDifference[] {
  const out: FullauthSchemaDifference[] = [];
  for (const table of Object.values(diff.newTables) as DatabaseTable[]) {
    out.push({ table: table.name, kind: 'missing table', detail: `table ${table.name} does not exist` });
  }
  for (const t of Object.values(diff.changedTables)) {
    const table = t.name.split('.').pop()!;
    for (const column of Object.values(t.addedColumns)) {
      out.push({ table, kind: 'missing column', detail: `${column.name} ${column.type}${column.nullable ? '' : ' not null'}` });
    }
    for (const column of Object.values(t.removedColumns)) {
      out.push({ table, kind: 'unexpected column', detail: `${column.name} ${column.type}` });
    }
    for (const change of Object.values(t.changedColumns)) {
      const details = [...change.changedProperties].map(
        (property) =>
          `${property} is ${show(change.fromColumn[property as keyof typeof change.fromColumn])}, expected ${show(change.column[property as keyof typeof change.column])}`,
      );
      out.push({ table, kind: 'column differs', detail: `${change.column.name}: ${details.join('; ')}` });
    }
    for (const [from, to] of Object.entries(t.renamedColumns)) {
      out.push({ table, kind: 'column differs', detail: `${from} should be named ${to.name}` });
    }
    for (const index of Object.values(t.addedIndexes)) out.push({ table, kind: 'missing index', detail: indexText(index) });
    for (const index of Object.values(t.removedIndexes)) out.push({ table, kind: 'unexpected index', detail: indexText(index) });
    const liveIndexes = from.getTables().find((x) => x.name === table)?.getIndexes() ?? [];
    for (const index of Object.values(t.changedIndexes)) {
      const found = liveIndexes.find((i) => i.keyName === index.keyName);
      out.push({ table, kind: 'index differs', detail: `expected ${indexText(index)}${found ? `, found ${indexText(found)}` : ''}` });
    }
    for (const [from, index] of Object.entries(t.renamedIndexes)) {
      out.push({ table, kind: 'index differs', detail: `${from} should be named ${index.keyName}` });
    }
    for (const fk of Object.values(t.addedForeignKeys)) out.push({ table, kind: 'missing foreign key', detail: fkText(fk) });
    for (const fk of Object.values(t.removedForeignKeys)) out.push({ table, kind: 'unexpected foreign key', detail: fkText(fk) });
    const liveKeys = from.getTables().find((x) => x.name === table)?.getForeignKeys() ?? {};
    for (const fk of Object.values(t.changedForeignKeys)) {
      const found = liveKeys[fk.constraintName];
      out.push({ table, kind: 'foreign key differs', detail: `expected ${fkText(fk)}${found ? `, found ${fkText(found)}` : ''}` });
    }
  }
  return out;
}

function indexText(index: { keyName: string; columnNames: string[]; unique: boolean; primary: boolean }): string {
  const kind = index.primary ? 'primary key' : index.unique ? 'unique index' : 'index';
  return `${kind} ${index.keyName} (${index.columnNames.join(', ')})`;
}

function fkText(fk: {
  constraintName: string;
  columnNames: string[];
  referencedTableName: string;
  referencedColumnNames: string[];
  deleteRule?: string;
  updateRule?: string;
}): string {
  const rules = [fk.deleteRule && `on delete ${fk.deleteRule}`, fk.updateRule && `on update ${fk.updateRule}`].filter(Boolean);
  return `${fk.constraintName} (${fk.columnNames.join(', ')}) → ${fk.referencedTableName}(${fk.referencedColumnNames.join(', ')})${rules.length ? ` ${rules.join(' ')}` : ''}`;
}

/** The report as text, one difference per line. */
export function formatFullauthReport(report: FullauthSchemaReport): string {
  if (report.ok) return `fullauth schema: OK (${report.tables.length} tables match)`;
  return [
    `fullauth schema: ${report.differences.length} difference${report.differences.length > 1 ? 's' : ''}`,
    ...report.differences.map((d) => `  ${d.table}: ${d.kind}: ${d.detail}`),
  ].join('\n');
}
