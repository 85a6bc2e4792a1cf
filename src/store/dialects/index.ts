// One module per database; the store asks for the one of its EntityManager's platform.
import type { FullauthDialect } from '../../dialects.js';
import type { StoreDialect } from './dialect.js';
import { mysql } from './mysql.js';
import { postgresql } from './postgresql.js';
import { sqlite } from './sqlite.js';

export type { Context, Db, Row, StoreDialect, TokenTables, TokenValues } from './dialect.js';

export interface DialectOptions {
  /** SQLite: how long (ms) a write waits for another connection's write lock. */
  busyTimeout: number;
}

export function storeDialect(dialect: FullauthDialect, options: DialectOptions): StoreDialect {
  switch (dialect) {
    case 'postgresql':
      return postgresql;
    case 'mysql':
      return mysql;
    case 'sqlite':
      return sqlite(options);
  }
}
