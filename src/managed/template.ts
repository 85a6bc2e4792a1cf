import { FULLAUTH_MODEL } from '../model.js';
import { fitIdentifier, type Naming } from '../naming.js';
import { FULLAUTH_ENTITY_NAMES, type FullauthEntityName } from '../spec.js';

/**
 * The shipped migrations are generated with the table prefix `__fa__` and no schema, so that
 * every name in them can be told apart and rendered with the host's naming: tables, index,
 * foreign-key, primary-key and unique-constraint names all derive from a table name.
 */
export const TEMPLATE_PREFIX = '__fa__';

const tables = FULLAUTH_ENTITY_NAMES.map((entity) => [FULLAUTH_MODEL[entity].table, entity] as const).sort(
  (a, b) => b[0].length - a[0].length,
);
const T = tables.map(([t]) => t).join('|');
const TABLE = new RegExp(`^${TEMPLATE_PREFIX}(${T})$`);
const INDEX = new RegExp(`^ix_${TEMPLATE_PREFIX}(${T})_(.+)$`);
const FOREIGN_KEY = new RegExp(`^${TEMPLATE_PREFIX}(${T})_(.+)_fkey$`);
// MySQL/MariaDB: the server's own foreign-key names (`<table>_ibfk_<n>`), as build-schema.ts declares them.
const MYSQL_FOREIGN_KEY = new RegExp(`^${TEMPLATE_PREFIX}(${T})_ibfk_(\\d+)$`);
// SQLite: MikroORM's own names of the foreign-key constraints written inside CREATE TABLE.
const SQLITE_FOREIGN_KEY = new RegExp(`^${TEMPLATE_PREFIX}(${T})_(.+)_foreign$`);
const PRIMARY_KEY = new RegExp(`^${TEMPLATE_PREFIX}(${T})_pkey$`);
const UNIQUE = new RegExp(`^uq_${TEMPLATE_PREFIX}(${T})_(.+)$`);
const entityOf = (table: string): FullauthEntityName => tables.find(([t]) => t === table)![1];

/**
 * Renders one template statement with the host's naming (and schema for table references).
 * Identifiers are quoted as the statement quotes them: `"x"` (PostgreSQL, SQLite) or `` `x` `` (MySQL).
 */
export function renderTemplate(statement: string, naming: Naming, schema: string | undefined): string {
  // PostgreSQL finds an index to drop on the search path: name the schema it is in.
  const qualifyIndex = schema !== undefined && /^drop index (?:if exists )?"/i.test(statement);
  // Quoted identifiers, and bare ones that hold the template prefix (SQLite's foreign-key
  // clauses are written bare, as SQLAlchemy writes them); string literals are left alone.
  return statement.replace(/'(?:[^']|'')*'|"([^"]+)"|`([^`]+)`|\b(\w*__fa__\w*)\b/g, (quoted, dq: string | undefined, bq: string | undefined, bare: string | undefined) => {
    const id = dq ?? bq ?? bare;
    if (id === undefined || !id.includes(TEMPLATE_PREFIX)) return quoted;
    const q = (name: string) => (dq !== undefined ? `"${name}"` : bq !== undefined ? `\`${name}\`` : name);
    let m: RegExpExecArray | null;
    if ((m = TABLE.exec(id))) {
      const table = q(naming.table(entityOf(m[1]!)));
      return schema ? `${q(schema)}.${table}` : table;
    }
    if ((m = INDEX.exec(id))) {
      const index = q(naming.index(naming.table(entityOf(m[1]!)), m[2]!));
      return qualifyIndex ? `${q(schema)}.${index}` : index;
    }
    if ((m = MYSQL_FOREIGN_KEY.exec(id))) return q(fitIdentifier(`${naming.table(entityOf(m[1]!))}_ibfk_${m[2]!}`));
    if ((m = SQLITE_FOREIGN_KEY.exec(id))) return q(`${naming.table(entityOf(m[1]!))}_${m[2]!}_foreign`);
    if ((m = FOREIGN_KEY.exec(id))) return q(naming.foreignKey(naming.table(entityOf(m[1]!)), m[2]!));
    if ((m = PRIMARY_KEY.exec(id))) return q(`${naming.table(entityOf(m[1]!))}_pkey`);
    if ((m = UNIQUE.exec(id))) {
      const entity = entityOf(m[1]!);
      const spec = FULLAUTH_MODEL[entity];
      const constraint = ('uniqueConstraints' in spec ? spec.uniqueConstraints : []).find((c) => c.key === m![2]);
      if (constraint) return q(naming.uniqueConstraint(entity, naming.table(entity), constraint.name, constraint.key));
    }
    throw new Error(`A shipped fullauth migration has a name this version cannot render: ${id}`);
  });
}
