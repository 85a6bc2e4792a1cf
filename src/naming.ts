import { createHash } from 'node:crypto';
import { FullauthConfigError, listValues, showValue } from './errors.js';
import { FULLAUTH_MODEL } from './model.js';
import { readOptions } from './read-options.js';
import { FULLAUTH_ENTITY_NAMES, type FullauthEntityName } from './spec.js';

/**
 * The naming rules, in one place. Every table, column, index and constraint name the
 * module produces comes from a `Naming`; nothing else spells a name. Names are explicit in
 * the metadata, so the host's naming strategy never changes them.
 *
 * The defaults are the contract's: tables `fullauth_<name>`, indexes `ix_<table>_<column>`,
 * foreign keys `<table>_<column>_fkey` (PostgreSQL's own name for an unnamed foreign key).
 * Primary keys keep the platform's name, `<table>_pkey` on PostgreSQL (hash-shortened by
 * MikroORM past 63 characters, like every derived name here).
 */
export const DEFAULT_TABLE_PREFIX = 'fullauth_';

/** The tracking table of the managed migration stream (managed.ts), never part of the host's diff. */
export const DEFAULT_MIGRATIONS_TABLE = 'fullauth_migrations';

/**
 * Names no fullauth table may take: the managed stream's tracking table and MikroORM
 * Migrator's (`mikro_orm_migrations`). A clash would only show at migrate time, as a failed
 * `create table` or migrations recorded in an auth table.
 */
export const RESERVED_TABLE_NAMES: readonly string[] = [DEFAULT_MIGRATIONS_TABLE, 'mikro_orm_migrations'];

/** PostgreSQL truncates identifiers to 63 bytes; MySQL allows 64. We stay within both. */
export const MAX_IDENTIFIER_LENGTH = 63;
const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

export interface NamingOptions {
  /** Replaces `fullauth_` in every table name (and so in every derived name). `''` is allowed. */
  tablePrefix?: string | null;
  /** Full table names per entity, e.g. `{ FullauthUser: 'accounts' }`; the prefix does not apply. */
  tables?: Partial<Record<FullauthEntityName, string | null>> | null;
}

export interface Naming {
  table(entity: FullauthEntityName): string;
  /** `hashedPassword` → `hashed_password`. */
  column(property: string): string;
  /** A many-to-one `user` is stored in `user_id`. */
  referenceColumn(property: string): string;
  index(table: string, column: string): string;
  foreignKey(table: string, column: string): string;
  /** A named multi-column unique constraint; the contract's own name on the contract's table. */
  uniqueConstraint(entity: FullauthEntityName, table: string, contractName: string, key: string): string;
}

export const snakeCase = (property: string): string => property.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** Keeps a derived name within 63 bytes, deterministically and without collisions. */
export function fitIdentifier(name: string): string {
  if (name.length <= MAX_IDENTIFIER_LENGTH) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, MAX_IDENTIFIER_LENGTH - 9)}_${hash}`;
}

export function assertIdentifier(value: unknown, what: string): asserts value is string {
  if (typeof value === 'string' && value.length > MAX_IDENTIFIER_LENGTH) {
    throw new FullauthConfigError(
      `${what} is ${value.length} characters long (${showValue(value)}); PostgreSQL allows at most ${MAX_IDENTIFIER_LENGTH}.`,
    );
  }
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new FullauthConfigError(
      `${what} must be a lower-case SQL identifier (letters a-z, digits and _, not starting with a digit); got ${showValue(value)}.`,
    );
  }
}

export function createNaming(options: NamingOptions = {}): Naming {
  const prefix = options.tablePrefix ?? DEFAULT_TABLE_PREFIX;
  if (prefix !== '') assertIdentifier(prefix, 'tablePrefix');
  // Entries left null are gone: those tables keep their default names.
  const overrides = readOptions(options.tables, 'tables');
  const unknown = Object.keys(overrides).filter((entity) => !(FULLAUTH_ENTITY_NAMES as readonly string[]).includes(entity));
  if (unknown.length > 0) {
    throw new FullauthConfigError(
      `tables: unknown entit${unknown.length > 1 ? 'ies' : 'y'} ${listValues(unknown.map(showValue))}. Valid entities: ${FULLAUTH_ENTITY_NAMES.join(', ')}.`,
    );
  }
  const table = (entity: FullauthEntityName): string => overrides[entity] ?? `${prefix}${FULLAUTH_MODEL[entity].table}`;
  for (const entity of FULLAUTH_ENTITY_NAMES) {
    const what = entity in overrides ? `tables.${entity}` : `The table name of ${entity}`;
    assertIdentifier(table(entity), what);
    assertNotReserved(table(entity), what);
  }
  const taken = new Map<string, FullauthEntityName>();
  for (const entity of FULLAUTH_ENTITY_NAMES) {
    const name = table(entity);
    const other = taken.get(name);
    if (other) throw new FullauthConfigError(`${other} and ${entity} would both use the table '${name}'. Give each entity its own table name.`);
    taken.set(name, entity);
  }
  const contractTable = (entity: FullauthEntityName) => `${DEFAULT_TABLE_PREFIX}${FULLAUTH_MODEL[entity].table}`;

  return {
    table,
    column: snakeCase,
    referenceColumn: (property) => `${snakeCase(property)}_id`,
    index: (tableName, column) => fitIdentifier(`ix_${tableName}_${column}`),
    foreignKey: (tableName, column) => fitIdentifier(`${tableName}_${column}_fkey`),
    uniqueConstraint: (entity, tableName, contractName, key) =>
      tableName === contractTable(entity) ? contractName : fitIdentifier(`uq_${tableName}_${key}`),
  };
}

/** A table name the migration tracking tables need (see {@link RESERVED_TABLE_NAMES}) is refused. */
function assertNotReserved(name: string, what: string): void {
  if (!RESERVED_TABLE_NAMES.includes(name)) return;
  throw new FullauthConfigError(
    `${what} is '${name}', a name reserved for a migration tracking table ` +
      `(${name === DEFAULT_MIGRATIONS_TABLE ? 'the managed stream of fullauthMigrator()' : "MikroORM's Migrator"}). ` +
      `Choose another name; reserved: ${RESERVED_TABLE_NAMES.join(', ')}.`,
  );
}

/**
 * The tracking table of the managed stream: an identifier (an empty name is an SQL error, a
 * longer one would be cut to 63 bytes by PostgreSQL), not MikroORM Migrator's table and, given
 * the naming, not one of the fullauth tables (of any group: a group may be enabled later).
 */
export function assertTrackingTable(name: unknown, what: string, naming?: Naming): asserts name is string {
  assertIdentifier(name, what);
  if (name !== DEFAULT_MIGRATIONS_TABLE && RESERVED_TABLE_NAMES.includes(name)) {
    throw new FullauthConfigError(`${what} is '${name}', MikroORM Migrator's own tracking table. Choose another name (default ${DEFAULT_MIGRATIONS_TABLE}).`);
  }
  const entity = naming && FULLAUTH_ENTITY_NAMES.find((e) => naming.table(e) === name);
  if (entity) {
    throw new FullauthConfigError(`${what} is '${name}', the table of ${entity}. The tracking table needs a name of its own (default ${DEFAULT_MIGRATIONS_TABLE}).`);
  }
}
