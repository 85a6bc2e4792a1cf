import type { IDatabaseDriver, IMigrationGenerator, MetadataStorage, MigrationDiff, MigrationsOptions, NamingStrategy } from '@mikro-orm/core';
import { dialectOf } from './dialects.js';
import { FullauthDestructiveChangeError, QUOTED, findDestructiveStatements } from './guard.js';
import { requireHere } from './orm-compat.js';
import { knownFullauthTables, registeredHooks } from './schema-hooks.js';
import { installSqliteFastapiDdl, type SqliteSchemaHelperLike } from './sqlite/ddl.js';

type MigrationsModule = typeof import('@mikro-orm/migrations');
type SqlDriver = ConstructorParameters<MigrationsModule['TSMigrationGenerator']>[0];

const CREATE_TABLE = new RegExp(`^create table ((?:${QUOTED}\\.)?${QUOTED})`, 'i');
/** Statements a creation-only migration consists of, on every dialect (session settings included). */
const CREATION = /^(create table |create (unique )?index |alter table \S+ add (constraint|index|unique|primary key|foreign key) |comment on |set names |pragma )/i;

/**
 * MikroORM's own generator, with one addition: an initial migration (one that only creates
 * tables, their indexes and constraints) gets a `down()` that drops those tables, so
 * `migration:down` can revert it. MikroORM leaves it irreversible. Every other migration,
 * whose `down()` MikroORM computes from the diff, is untouched.
 */
export class FullauthMigrationGenerator implements IMigrationGenerator {
  readonly #inner: IMigrationGenerator;
  readonly #driver: IDatabaseDriver;

  /** Called by MikroORM's Migrator, with its SQL driver. */
  constructor(driver: IDatabaseDriver, namingStrategy: NamingStrategy, options: MigrationsOptions) {
    // @mikro-orm/migrations is an optional peer: loaded only when the Migrator builds a generator.
    const { JSMigrationGenerator, TSMigrationGenerator } = requireHere('@mikro-orm/migrations') as MigrationsModule;
    const Generator = options.emit === 'js' || options.emit === 'cjs' ? JSMigrationGenerator : TSMigrationGenerator;
    this.#inner = new Generator(driver as SqlDriver, namingStrategy, options);
    this.#driver = driver;
    // Made by the Migrator before any diff: on SQLite, the diffs it computes then write (and
    // read back) the fullauth tables as fastapi-fullauth's SQLAlchemy does, with or without
    // fullauthSchemaHooks() (see sqlite/ddl.ts).
    const platform = driver.getPlatform() as unknown as { getSchemaHelper?(): SqliteSchemaHelperLike };
    if (dialectOf(platform) === 'sqlite' && platform.getSchemaHelper) {
      installSqliteFastapiDdl(platform.getSchemaHelper(), (table) => knownFullauthTables(driver.getMetadata() as MetadataStorage).names.has(table));
    }
  }

  generate(diff: MigrationDiff, path?: string, name?: string): Promise<[string, string]> {
    this.#guardWithoutHooks(diff);
    return this.#inner.generate(withDown(diff, this.#cascade), path, name);
  }

  /**
   * Without fullauthSchemaHooks() (which guard every diff with full knowledge), a migration
   * that would drop or retype a fullauth table or column is still never written silently.
   */
  #guardWithoutHooks(diff: MigrationDiff): void {
    if (registeredHooks(this.#driver.config.get('extensions'))) return;
    const known = knownFullauthTables(this.#driver.getMetadata() as MetadataStorage);
    const destructive = findDestructiveStatements(
      diff.up.map((s) => s.trim().replace(/;$/, '')).filter(Boolean),
      { isFullauth: (table) => known.names.has(table) },
    );
    if (destructive.length > 0) throw new FullauthDestructiveChangeError(destructive);
  }

  createStatement(sql: string, padLeft: number): string {
    return this.#inner.createStatement(sql, padLeft);
  }

  generateMigrationFile(className: string, diff: MigrationDiff) {
    return this.#inner.generateMigrationFile(className, withDown(diff, this.#cascade));
  }

  /** PostgreSQL drops dependent objects with `cascade`; SQLite has no such clause (MySQL ignores it). */
  get #cascade(): boolean {
    return dialectOf(this.#driver.getPlatform()) === 'postgresql';
  }
}

/** Derives the `down` of a creation-only migration: its tables dropped, last created first. */
export function withDown(diff: MigrationDiff, cascade = true): MigrationDiff {
  const up = diff.up.filter((sql) => sql.trim() !== '');
  const hasDown = diff.down.some((sql) => sql.trim() !== '');
  if (hasDown || up.length === 0 || !up.every((sql) => CREATION.test(sql))) return diff;
  const tables = up.flatMap((sql) => CREATE_TABLE.exec(sql)?.[1] ?? []);
  if (tables.length === 0) return diff;
  return { up: diff.up, down: tables.reverse().map((table) => `drop table if exists ${table}${cascade ? ' cascade' : ''};`) };
}
