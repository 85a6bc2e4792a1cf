// The SQLite DDL of the fullauth tables, as fastapi-fullauth's SQLAlchemy writes and reads it.
//
// MikroORM quotes SQLite identifiers in backticks and makes every unique key a separate
// `create unique index`. SQLAlchemy's SQLite reflection reads a foreign key's ON DELETE rule
// and name from the CREATE TABLE text with a pattern that accepts the referenced table and
// columns only bare or in double quotes, and makes `uq_oauth_provider_user` a table
// constraint (`CONSTRAINT uq_oauth_provider_user UNIQUE (provider, provider_user_id)` inside
// CREATE TABLE). On MikroORM's DDL its Alembic autogenerate therefore proposes to drop and
// re-add every foreign key (read back without ON DELETE CASCADE) and to swap the unique index
// for the constraint. Here MikroORM's SQLite schema helper, for the fullauth tables only:
// - writes each foreign key clause as SQLAlchemy does, without backticks
//   (`references fullauth_users (id)`);
// - writes each unique constraint of the entities inline, as SQLAlchemy does, instead of a
//   `create unique index` after the table;
// - reads those inline constraints back under their names (SQLite keeps them as unnamed
//   `sqlite_autoindex_…` indexes, which MikroORM's introspection skips), so its own diff of
//   the result, and of a database fastapi-fullauth created, stays empty.
// Everything else (column definitions, the table name, plain and `ix_…` indexes, the
// table-rebuild statements of an SQLite `alter`) is MikroORM's own output.
//
// MikroORM 7 writes its DDL as text (`createTable()` returns the statements); MikroORM 6 has
// knex build it (`createTable()` returns a knex schema builder, compiled later by `dump()`):
// there the table is handed to knex without those uniques and foreign keys, and the same
// clauses are written into knex's `create table` when it is dumped (installKnexDdl below).
import { parseInlineUniques } from '../sqlite-constraints.js';

interface Index {
  keyName: string;
  columnNames: string[];
  unique: boolean;
  constraint?: boolean;
  primary: boolean;
  composite?: boolean;
  expression?: string;
}
interface ForeignKey {
  constraintName: string;
  columnNames: string[];
  localTableName: string;
  referencedTableName: string;
  referencedColumnNames: string[];
  updateRule?: string;
  deleteRule?: string;
  deferMode?: string;
}
interface Table {
  name: string;
  schema?: string;
  getIndexes(): Index[];
  setIndexes(indexes: Index[]): void;
  getForeignKeys(): Record<string, ForeignKey>;
}
interface Connection {
  execute(sql: string, params?: unknown[], method?: 'all' | 'get' | 'run', ctx?: unknown): Promise<unknown>;
}
/** The part of MikroORM's SQLite schema helper (7: SqliteSchemaHelper, 6: BaseSqliteSchemaHelper) that is wrapped here. */
export interface SqliteSchemaHelperLike {
  getIndexes(connection: Connection, tableName: string, schemaName?: string, ctx?: unknown): Promise<Index[]>;
}
/** MikroORM 7: the statements as text. */
interface TextSchemaHelper extends SqliteSchemaHelperLike {
  createTable(table: Table, alter?: boolean): string[];
  createForeignKey(table: Table, foreignKey: ForeignKey, alterTable?: boolean, inline?: boolean): string;
}
/** MikroORM 6: knex schema builders, turned into text by `dump()`. */
interface KnexSchemaHelper extends SqliteSchemaHelperLike {
  createSchemaBuilder(schema?: string): unknown;
  createTable(table: Table, alter?: boolean): unknown;
  dump(builder: unknown, append: string): Promise<string>;
  getReferencedTableName(referencedTableName: string, schema?: string): string;
  readonly options: { createForeignKeyConstraints?: boolean };
  readonly platform: { supportsMultipleCascadePaths(): boolean };
}

const INSTALLED = Symbol.for('mikro-orm-fullauth.sqlite-ddl');

/**
 * Makes `helper` (the SQLite platform's schema helper of one ORM) write and read the fullauth
 * tables the way SQLAlchemy does. `isFullauth` tells a fullauth table by name (asked at each
 * call: the metadata may be discovered after this runs). Installing twice is a no-op.
 */
export function installSqliteFastapiDdl(helper: SqliteSchemaHelperLike, isFullauth: (table: string) => boolean): void {
  const marked = helper as SqliteSchemaHelperLike & { [INSTALLED]?: true };
  if (marked[INSTALLED]) return;
  if (typeof helper.getIndexes !== 'function') return;
  const knex = isKnexHelper(helper);
  if (!knex && !isTextHelper(helper)) return;
  Object.defineProperty(marked, INSTALLED, { value: true });

  const getIndexes = helper.getIndexes.bind(helper);
  helper.getIndexes = async (connection, tableName, schemaName, ctx) => {
    const indexes = await getIndexes(connection, tableName, schemaName, ctx);
    if (!isFullauth(tableName) || (schemaName && schemaName !== 'main')) return indexes;
    const row = (await connection.execute(`select sql from sqlite_master where type = 'table' and name = ?`, [tableName], 'get', ctx)) as
      | { sql?: unknown }
      | undefined;
    for (const unique of parseInlineUniques(typeof row?.sql === 'string' ? row.sql : '')) {
      if (indexes.some((index) => index.keyName === unique.keyName)) continue;
      indexes.push(unique);
    }
    return indexes;
  };

  if (knex) installKnexDdl(helper, isFullauth);
  else installTextDdl(helper, isFullauth);
}

const isKnexHelper = (helper: SqliteSchemaHelperLike): helper is KnexSchemaHelper =>
  ['createSchemaBuilder', 'createTable', 'dump', 'getReferencedTableName'].every((m) => typeof (helper as unknown as Record<string, unknown>)[m] === 'function');
const isTextHelper = (helper: SqliteSchemaHelperLike): helper is TextSchemaHelper =>
  ['createTable', 'createForeignKey'].every((m) => typeof (helper as unknown as Record<string, unknown>)[m] === 'function');

/** MikroORM 7: its text, with the foreign keys unquoted and the uniques moved into the table. */
function installTextDdl(helper: TextSchemaHelper, isFullauth: (table: string) => boolean): void {
  const createTable = helper.createTable.bind(helper);
  const createForeignKey = helper.createForeignKey.bind(helper);

  // The unique constraints of the table being created, written just before its first foreign
  // key, as SQLAlchemy orders them: SQLAlchemy 1.4 reads a unique constraint's name from the
  // first `constraint` of the table on.
  let pendingUniques: { table: string; sql: string } | undefined;

  helper.createForeignKey = (table, foreignKey, alterTable, inline) => {
    const sql = createForeignKey(table, foreignKey, alterTable, inline);
    // Only inside CREATE TABLE (SQLite cannot add a foreign key to an existing table).
    if (!sql || alterTable !== false || !isFullauth(table.name)) return sql;
    const uniques = pendingUniques?.table === table.name ? `${pendingUniques.sql}, ` : '';
    pendingUniques = undefined;
    return uniques + unquoted(sql);
  };

  helper.createTable = (table, alter) => {
    if (!isFullauth(table.name)) return createTable(table, alter);
    const indexes = table.getIndexes();
    const inline = indexes.filter(isInlineUnique);
    if (inline.length === 0) return createTable(table, alter);
    const uniques = inline.map(uniqueClause).join(', ');
    table.setIndexes(indexes.filter((index) => !isInlineUnique(index)));
    pendingUniques = { table: table.name, sql: uniques };
    let statements: string[];
    try {
      statements = createTable(table, alter);
    } finally {
      table.setIndexes(indexes);
    }
    const written = pendingUniques === undefined;
    pendingUniques = undefined;
    if (written) return statements;
    // No foreign key took them (none, or `createForeignKeyConstraints: false`): before the last `)`.
    const [create, ...rest] = statements;
    const end = create !== undefined && /^create table /i.test(create) ? /\)\s*;?\s*$/.exec(create) : null;
    if (!create || !end) throw new Error(`mikro-orm-fullauth: unexpected SQLite create table statement for ${table.name}: ${create}`);
    return [`${create.slice(0, end.index)}, ${uniques}${create.slice(end.index)}`, ...rest];
  };
}

/**
 * MikroORM 6: knex compiles `create table` from the table only when the builder is dumped.
 * The builder is given a view of the table without its inline uniques and foreign keys (so
 * knex writes neither the separate unique index nor its backticked foreign keys), and the
 * dump writes them into the table as MikroORM 7's path does: uniques, then foreign keys, each
 * in SQLAlchemy's quoting, before the statement's last `)` (after knex's `primary key (…)`,
 * where SQLAlchemy writes its constraints too). Every place MikroORM 6 creates a table
 * (schema:create, a migration's new table, the rebuild of an SQLite `alter`) dumps the
 * builder of `createTable()` through `dump()`.
 */
function installKnexDdl(helper: KnexSchemaHelper, isFullauth: (table: string) => boolean): void {
  const createTable = helper.createTable.bind(helper);
  const dump = helper.dump.bind(helper);
  const clauses = new WeakMap<object, string>();

  helper.createTable = (table, alter) => {
    if (!isFullauth(table.name)) return createTable(table, alter);
    const inline = table.getIndexes().filter(isInlineUnique);
    const foreignKeys = helper.options.createForeignKeyConstraints === false ? [] : Object.values(table.getForeignKeys());
    if (inline.length === 0 && foreignKeys.length === 0) return createTable(table, alter);
    // Read by knex when it compiles the builder (no state of its own: DatabaseTable keeps none in private fields).
    const view = Object.create(table) as Table;
    view.getIndexes = () => table.getIndexes().filter((index) => !isInlineUnique(index));
    view.getForeignKeys = () => ({});
    const builder = createTable(view, alter);
    if (typeof builder !== 'object' || builder === null) throw new Error(`mikro-orm-fullauth: unexpected SQLite schema builder for ${table.name}`);
    clauses.set(builder, [...inline.map(uniqueClause), ...foreignKeys.map((fk) => foreignKeyClause(helper, table, fk))].join(', '));
    return builder;
  };

  helper.dump = async (builder, append) => {
    const sql = await dump(builder, append);
    const extra = typeof builder === 'object' && builder !== null ? clauses.get(builder) : undefined;
    if (extra === undefined) return sql;
    // knex writes `create table` on the first line (MikroORM 6's own SQLite `alter` relies on it too).
    const newline = sql.indexOf('\n');
    const create = newline === -1 ? sql : sql.slice(0, newline);
    const end = /^create table /i.test(create) ? /\)\s*;?\s*$/.exec(create) : null;
    if (!end) throw new Error(`mikro-orm-fullauth: unexpected SQLite create table statement: ${create}`);
    return `${create.slice(0, end.index)}, ${extra}${sql.slice(end.index)}`;
  };
}

/** A unique constraint inside CREATE TABLE, as SQLAlchemy writes it. */
const uniqueClause = (index: Index): string => `constraint ${quote(index.keyName)} unique (${index.columnNames.map(quote).join(', ')})`;

/** A foreign key inside CREATE TABLE, as MikroORM 7 writes it (`createForeignKey()`), in SQLAlchemy's quoting. */
function foreignKeyClause(helper: KnexSchemaHelper, table: Table, fk: ForeignKey): string {
  const sql = [
    `constraint ${quote(fk.constraintName)} foreign key (${fk.columnNames.map(quote).join(', ')})`,
    `references ${quote(helper.getReferencedTableName(fk.referencedTableName, table.schema))} (${fk.referencedColumnNames.map(quote).join(', ')})`,
  ];
  // As MikroORM (6 and 7): no rules on a self-reference where the platform cannot cascade twice.
  if (fk.localTableName !== fk.referencedTableName || helper.platform.supportsMultipleCascadePaths()) {
    if (fk.updateRule) sql.push(`on update ${fk.updateRule}`);
    if (fk.deleteRule) sql.push(`on delete ${fk.deleteRule}`);
  }
  if (fk.deferMode) sql.push(`deferrable initially ${fk.deferMode}`);
  return sql.join(' ');
}

/** A unique key MikroORM would create as a separate index, which SQLAlchemy declares in the table. */
const isInlineUnique = (index: Index): boolean =>
  index.unique && !index.primary && index.constraint === true && !index.expression && index.columnNames.every((c) => !c.includes('.'));

/**
 * An identifier as SQLAlchemy writes it: bare when it is a plain lower-case name, else in
 * double quotes. SQLAlchemy's reflection reads both, but a quoted constraint name lets its
 * patterns run on into the next clause, so plain names stay bare, as in its own DDL.
 */
const quote = (identifier: string): string =>
  /^[a-z_][a-z0-9_]*$/.test(identifier) && !SQLITE_KEYWORDS.has(identifier.toUpperCase()) ? identifier : `"${identifier.replaceAll('"', '""')}"`;

/** https://sqlite.org/lang_keywords.html */
const SQLITE_KEYWORDS = new Set(
  `ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN BY CASCADE CASE CAST
  CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE
  DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN
  FAIL FILTER FIRST FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX INDEXED
  INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH MATERIALIZED NATURAL NO NOT
  NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE
  RECURSIVE REFERENCES REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW ROWS SAVEPOINT SELECT SET
  TABLE TEMP TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE UPDATE USING VACUUM VALUES VIEW VIRTUAL WHEN
  WHERE WINDOW WITH WITHOUT`.split(/\s+/),
);

/** MikroORM's foreign key clause with its backtick-quoted identifiers written as SQLAlchemy writes them. */
function unquoted(sql: string): string {
  return sql.replace(/`((?:[^`]|``)*)`/g, (_, name: string) => quote(name.replaceAll('``', '`')));
}
