/**
 * The contract's naming rules, in one place. Every table, column, index and constraint
 * name the module produces comes from here; nothing else spells a name.
 * Names are explicit in the metadata, so the host's naming strategy never changes them.
 */
export const TABLE_PREFIX = 'fullauth_';

/** `users` → `fullauth_users`. */
export const tableName = (table: string): string => `${TABLE_PREFIX}${table}`;

/** `hashedPassword` → `hashed_password`. */
export const columnName = (property: string): string =>
  property.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);

/** A many-to-one `user` is stored in `user_id`. */
export const referenceColumnName = (property: string): string => `${columnName(property)}_id`;

/** Unique and plain single-column indexes: `ix_<table>_<column>` (SQLAlchemy's `index=True` naming). */
export const indexName = (table: string, column: string): string => `ix_${table}_${column}`;

/** PostgreSQL's default name for an unnamed foreign key: `<table>_<column>_fkey`. */
export const foreignKeyName = (table: string, column: string): string => `${table}_${column}_fkey`;

/** PostgreSQL's default name for an unnamed primary key: `<table>_pkey`. */
export const primaryKeyName = (table: string): string => `${table}_pkey`;
