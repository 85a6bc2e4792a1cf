import { BooleanType, DateTimeType, StringType, UuidType, type EntityProperty, type Platform, type TransformContext } from '@mikro-orm/core';
import { dialectOf, isMariaDbPlatform, type FullauthDialect } from './dialects.js';
import { FullauthConfigError } from './errors.js';

/**
 * Column types that store values the way fastapi-fullauth does on each database, so a
 * database shared with the Python service reads and writes the same values:
 *
 * | kind      | PostgreSQL    | MySQL / MariaDB        | SQLite                              |
 * |-----------|---------------|------------------------|-------------------------------------|
 * | uuid      | `uuid`        | `char(32)`, hex        | `char(32)`, hex                     |
 * | timestamp | `timestamptz` | `datetime`, UTC        | `datetime`, UTC text with µs        |
 * | boolean   | `boolean`     | `tinyint(1)` (`BOOL`)  | `boolean` (0/1)                     |
 * | varchar   | `varchar(n)`  | `varchar(n)`           | `varchar(n)` (MikroORM: `text`)     |
 *
 * In JavaScript the values are the same everywhere: uuids in their canonical hyphenated
 * form, timestamps as `Date`, booleans as `boolean`.
 *
 * MikroORM hands each type the platform during discovery; the types of one definition
 * share a {@link DialectSlot} so the parts of the schema that are not column types (index
 * DDL, see build-schema.ts) can follow the same dialect.
 */

/**
 * The dialect the entities of one `defineFullauthEntities()` call were discovered with.
 * Its state lives in closures: MikroORM deep-copies metadata (and the types in it) during
 * discovery, and functions are the one thing a copy shares.
 */
export interface DialectSlot {
  /** Records the dialect; one set of entities cannot serve two different databases. */
  readonly bind: (platform: Platform) => FullauthDialect;
  readonly current: () => FullauthDialect | undefined;
}

/** `accept` runs once, when discovery first names the dialect: it may refuse options the dialect lacks. */
export function createDialectSlot(accept: (dialect: FullauthDialect) => void = () => undefined): DialectSlot {
  let bound: FullauthDialect | undefined;
  return {
    bind: (platform) => {
      const dialect = dialectOf(platform);
      if (bound === undefined) accept(dialect);
      if (bound !== undefined && bound !== dialect) {
        throw new FullauthConfigError(
          `These fullauth entities were already discovered for ${bound} and cannot also serve ${dialect}: ` +
            'call defineFullauthEntities() once per database.',
        );
      }
      return (bound = dialect);
    },
    current: () => bound,
  };
}

const HEX_UUID = /^[0-9a-f]{32}$/i;

/** `0190…-…` → `0190…` (32 lower-case hex digits), the storage of SQLAlchemy's `Uuid` without a native type. */
export const uuidToHex = (value: string): string => value.replace(/-/g, '').toLowerCase();

export const hexToUuid = (value: string): string =>
  HEX_UUID.test(value)
    ? `${value.slice(0, 8)}-${value.slice(8, 12)}-${value.slice(12, 16)}-${value.slice(16, 20)}-${value.slice(20)}`.toLowerCase()
    : value;

/** Extra metadata a reference column takes on a given dialect (constraint and index names). */
export type ReferencePolicy = Record<FullauthDialect, Pick<EntityProperty, 'foreignKeyName' | 'index' | 'updateRule'>>;

/**
 * The ON UPDATE rule of a foreign key on the MySQL family: none is declared (as SQLAlchemy
 * declares none), and the rule is the one the server's catalog then reports, so that the
 * catalog equals fastapi-fullauth's and Alembic reads no ON UPDATE clause back: RESTRICT on
 * MariaDB, NO ACTION on MySQL (the two behave alike on InnoDB). Spelling it out keeps a host's
 * `schemaGenerator.defaultUpdateRule` off these keys; MikroORM's diff takes both for "none".
 */
const mysqlUpdateRule = (platform: Platform): string => (isMariaDbPlatform(platform) ? 'restrict' : 'no action');

export class FullauthUuidType extends UuidType {
  constructor(
    protected readonly slot: DialectSlot,
    /** For a reference column: its constraint and index names per dialect. */
    private readonly reference?: ReferencePolicy,
  ) {
    super();
  }

  override getColumnType(prop: EntityProperty, platform: Platform): string {
    const dialect = this.slot.bind(platform);
    // Discovery hands the reference property itself here, before indexes and foreign keys are derived.
    if (this.reference) Object.assign(prop, this.reference[dialect], dialect === 'mysql' ? { updateRule: mysqlUpdateRule(platform) } : undefined);
    return dialect === 'postgresql' ? super.getColumnType(prop, platform) : 'char(32)';
  }

  override convertToDatabaseValue(value: string, platform: Platform): string {
    if (value == null || dialectOf(platform) === 'postgresql') return super.convertToDatabaseValue(value, platform) as string;
    return uuidToHex(value);
  }

  override convertToJSValue(value: string, platform: Platform): string {
    if (value == null || dialectOf(platform) === 'postgresql') return super.convertToJSValue(value, platform) as string;
    return hexToUuid(value);
  }

  override compareAsType(): string {
    return 'string';
  }

  // MikroORM converts keys through the type (pivot loading, snapshots) only when this says
  // the stored form differs from the JavaScript one: hex on MySQL and SQLite.
  override ensureComparable(): boolean {
    return this.platform !== undefined && dialectOf(this.platform) !== 'postgresql';
  }
}

const pad = (value: number, length = 2): string => String(value).padStart(length, '0');

/** `YYYY-MM-DD HH:MM:SS` in UTC. */
const utcSeconds = (date: Date): string =>
  `${date.getUTCFullYear()}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())} ` +
  `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`;

/** A zone-less date-time text (`2026-11-25 19:38:14.123456`) read as UTC, as it was written. */
const ZONELESS = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?$/;

export function parseUtc(value: string): Date {
  const match = ZONELESS.exec(value.trim());
  if (!match) return new Date(value);
  const [, day, time, fraction] = match;
  return new Date(`${day}T${time}${fraction ? `.${fraction.slice(0, 3).padEnd(3, '0')}` : ''}Z`);
}

export class FullauthTimestampType extends DateTimeType {
  constructor(private readonly slot: DialectSlot) {
    super();
  }

  override getColumnType(prop: EntityProperty, platform: Platform): string {
    return this.slot.bind(platform) === 'postgresql' ? 'timestamptz' : 'datetime';
  }

  // Typed as the base class says; on PostgreSQL the Date goes to the driver unchanged.
  override convertToDatabaseValue(value: Date, platform: Platform, context?: TransformContext): string {
    const dialect = dialectOf(platform);
    if (value == null || dialect === 'postgresql') return value as unknown as string;
    const date = value instanceof Date ? value : new Date(value as string | number);
    const micro = `${utcSeconds(date)}.${pad(date.getUTCMilliseconds(), 3)}000`;
    // MySQL's DATETIME keeps whole seconds (MySQL would round, MariaDB truncate: we truncate
    // first, so both store the same), but a bound in a query keeps its fraction, so
    // `$lt 12:00:00.500` still matches a row at 12:00:00. SQLite keeps SQLAlchemy's text
    // with microseconds.
    return dialect === 'mysql' && context?.mode !== 'query' ? utcSeconds(date) : micro;
  }

  // Change tracking compares stored forms (text) rather than Dates on MySQL and SQLite, so a
  // loaded row is not rewritten on the next flush.
  override ensureComparable(): boolean {
    return this.platform !== undefined && dialectOf(this.platform) !== 'postgresql';
  }

  override convertToJSValue(value: string | number | Date, platform: Platform): Date {
    if (value == null || value instanceof Date || dialectOf(platform) === 'postgresql') return value as Date;
    return typeof value === 'string' ? parseUtc(value) : new Date(value);
  }
}

export class FullauthBooleanType extends BooleanType {
  constructor(private readonly slot: DialectSlot) {
    super();
  }

  override getColumnType(prop: EntityProperty, platform: Platform): string {
    // SQLAlchemy declares BOOLEAN on SQLite; MikroORM would say integer.
    return this.slot.bind(platform) === 'sqlite' ? 'boolean' : super.getColumnType(prop, platform);
  }

  // SQLite has no boolean storage class: 1 and 0, as SQLAlchemy writes them.
  override convertToDatabaseValue(value: boolean | null | undefined, platform: Platform): boolean | null | undefined {
    if (value == null || dialectOf(platform) !== 'sqlite') return value;
    return (value ? 1 : 0) as unknown as boolean;
  }
}

export class FullauthVarcharType extends StringType {
  constructor(private readonly slot: DialectSlot) {
    super();
  }

  override getColumnType(prop: EntityProperty, platform: Platform): string {
    // SQLite ignores the length, but SQLAlchemy declares it, and so do we.
    return this.slot.bind(platform) === 'sqlite' ? `varchar(${prop.length})` : super.getColumnType(prop, platform);
  }
}
