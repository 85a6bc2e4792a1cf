import { FullauthConfigError } from './errors.js';

/**
 * The databases fastapi-fullauth runs on, and so the ones this module supports. Each has
 * its own storage rules in the contract ("Other databases"); everything that differs
 * between them is decided from the dialect, in column-types.ts and build-schema.ts.
 */
export const FULLAUTH_DIALECTS = ['postgresql', 'mysql', 'sqlite'] as const;
export type FullauthDialect = (typeof FULLAUTH_DIALECTS)[number];

const DIALECT_NAMES: Record<FullauthDialect, string> = {
  postgresql: 'PostgreSQL (and PGlite)',
  mysql: 'MySQL / MariaDB',
  sqlite: 'SQLite',
};

/**
 * The dialect of a MikroORM platform, told from its class chain (`PostgreSqlPlatform`,
 * `MariaDbPlatform`, `SqlitePlatform`, …) because that is stable across MikroORM 6 and 7
 * and across the drivers of one database (postgresql/PGlite, mysql/mariadb, sqlite/libsql).
 */
export function dialectOf(platform: object): FullauthDialect {
  let dialect = known.get(platform);
  if (dialect === undefined) known.set(platform, (dialect = detect(platform)));
  return dialect;
}

/** Values are converted per row and column: the answer is kept per platform object. */
const known = new WeakMap<object, FullauthDialect>();

function detect(platform: object): FullauthDialect {
  const names: string[] = [];
  for (let proto = Object.getPrototypeOf(platform); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    names.push(String(proto.constructor?.name ?? ''));
  }
  const chain = names.join(' ');
  if (/postgre/i.test(chain)) return 'postgresql';
  if (/mysql|mariadb/i.test(chain)) return 'mysql';
  if (/sqlite/i.test(chain)) return 'sqlite';
  // Class names minified away by a bundler: tell the platforms apart by what they declare.
  const declares = platform as { getUuidTypeDeclarationSQL?(p: object): string; getBooleanTypeDeclarationSQL?(): string; getDefaultSchemaName?(): string | undefined };
  const uuid = declares.getUuidTypeDeclarationSQL?.({});
  const boolean = declares.getBooleanTypeDeclarationSQL?.();
  if (uuid === 'uuid' && declares.getDefaultSchemaName?.() === 'public') return 'postgresql';
  if (boolean === 'tinyint(1)') return 'mysql';
  if (boolean === 'integer' && uuid === 'text') return 'sqlite';
  throw new FullauthConfigError(
    `mikro-orm-fullauth does not support the database of ${names[0] ?? 'this platform'}. ` +
      `Supported: ${FULLAUTH_DIALECTS.map((d) => DIALECT_NAMES[d]).join(', ')}.`,
  );
}

/** Whether a MySQL-family platform is MariaDB's (`MariaDbPlatform`) rather than MySQL's. */
export function isMariaDbPlatform(platform: object): boolean {
  for (let proto = Object.getPrototypeOf(platform); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    if (/mariadb/i.test(String(proto.constructor?.name ?? ''))) return true;
  }
  return false;
}

/** A clear refusal for a feature that one database does not have here. */
export function unsupportedOn(dialect: FullauthDialect, feature: string, supported: readonly FullauthDialect[]): FullauthConfigError {
  return new FullauthConfigError(
    `${feature} is not supported on ${DIALECT_NAMES[dialect]}; it works on ${supported.map((d) => DIALECT_NAMES[d]).join(', ')}. ` +
      'See docs/databases.md for the support matrix.',
  );
}
