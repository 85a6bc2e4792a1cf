import { FullauthConfigError, MAX_LISTED_VALUES, listLines } from './errors.js';

/**
 * Finds the statements of a generated schema change that would destroy or narrow data in a
 * fullauth table: dropping a table or column, renaming a column, changing a column's type,
 * shortening a varchar. Widening a varchar is allowed.
 */
export interface GuardedTables {
  /** Whether a table (by unqualified name, and schema if known) is a fullauth table. */
  isFullauth(table: string, schema: string | undefined): boolean;
  /** The column as the database has it now, when known (to tell widening a varchar from narrowing). */
  currentColumn?(table: string, schema: string | undefined, column: string): { type: string; length?: number | null } | undefined;
}

// Identifiers as MikroORM quotes them: "x" on PostgreSQL, `x` on MySQL/MariaDB and SQLite.
export const QUOTED = String.raw`(?:"[^"]+"|` + '`[^`]+`)';
const IDENT = String.raw`((?:${QUOTED}\.)?${QUOTED})`;
const DROP_TABLE = new RegExp(String.raw`^drop table (?:if exists )?${IDENT}`, 'i');
const ALTER_TABLE = new RegExp(String.raw`^alter table ${IDENT} (.*)$`, 'is');
const DROP_COLUMN = new RegExp(String.raw`\bdrop (?:column )?(?:if exists )?(${QUOTED})`, 'i');
// MySQL's `change` renames (and may retype) a column.
const RENAME_COLUMN = new RegExp(String.raw`\b(?:rename column|change (?:column )?)(${QUOTED})`, 'i');
// PostgreSQL `alter column "c" type t(n)`, MySQL `modify "c" t(n)`; the type is read up to its
// length, if any. A retyping statement the pattern cannot read counts as destructive (fail closed).
const RETYPE = new RegExp(String.raw`\b(?:alter column ${QUOTED} type|modify (?:column )?${QUOTED})`, 'i');
const ALTER_TYPE = new RegExp(String.raw`\b(?:alter column (${QUOTED}) type|modify (?:column )?(${QUOTED})) ([a-z][a-z0-9_ ]*?)\s*(?:\((\d+)\))?(?=\s|$|\[)`, 'i');

const unquote = (identifier: string) => identifier.replace(/^["`]|["`]$/g, '');

function splitName(qualified: string): { table: string; schema: string | undefined } {
  const parts = (qualified.match(new RegExp(QUOTED, 'g')) ?? [qualified]).map(unquote);
  return parts.length > 1 ? { schema: parts[0], table: parts[1]! } : { schema: undefined, table: parts[0]! };
}

export function splitStatements(sql: string): string[] {
  return sql
    .split(/;\s*\n/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter((s) => s !== '' && !/^set names /i.test(s));
}

export function findDestructiveStatements(statements: readonly string[], tables: GuardedTables): string[] {
  return statements.filter((statement) => {
    const drop = DROP_TABLE.exec(statement);
    if (drop) {
      const { table, schema } = splitName(drop[1]!);
      return tables.isFullauth(table, schema);
    }
    const alter = ALTER_TABLE.exec(statement);
    if (!alter) return false;
    const { table, schema } = splitName(alter[1]!);
    if (!tables.isFullauth(table, schema)) return false;
    const action = alter[2]!;
    if (DROP_COLUMN.test(action) || RENAME_COLUMN.test(action)) return true;
    if (!RETYPE.test(action)) return false;
    const retype = ALTER_TYPE.exec(action);
    if (!retype) return true;
    const [, pgColumn, myColumn, type, length] = retype;
    const current = tables.currentColumn?.(table, schema, unquote((pgColumn ?? myColumn)!));
    // Only widening a varchar to a longer varchar keeps every value; anything else may not
    // (text → varchar(n) narrows, a type change may rewrite).
    const isVarchar = (t: string) => /^(character varying|varchar)\b/i.test(t.trim());
    const widening =
      isVarchar(type!) && length !== undefined && current !== undefined && isVarchar(current.type) &&
      typeof current.length === 'number' && Number(length) >= current.length;
    // MySQL's `modify` restates the type even when only nullability changes: the same type,
    // no shorter, is no retyping.
    const baseOf = (t: string) => t.trim().toLowerCase().replace(/\s*\(.*$/, '');
    const currentLength = current?.length ?? Number(/\((\d+)\)/.exec(current?.type ?? '')?.[1] ?? NaN);
    const unchanged =
      current !== undefined && baseOf(current.type) === baseOf(type!) &&
      (length === undefined || Number.isNaN(currentLength) || Number(length) >= currentLength);
    return !widening && !unchanged;
  });
}

/** Raised instead of generating a schema change that would destroy or narrow fullauth data. */
export class FullauthDestructiveChangeError extends FullauthConfigError {
  readonly statements: readonly string[];
  constructor(statements: readonly string[]) {
    super(
      `Refusing a schema change that would drop or narrow data in fullauth tables:\n` +
        listLines(statements.map((s) => `${s};`)) +
        (statements.length > MAX_LISTED_VALUES ? ' (error.statements lists them all)' : '') +
        `\nIf this is intended, pass { allowDestructive: true } to fullauthSchemaHooks() and review the SQL.`,
    );
    this.statements = statements;
  }
}
