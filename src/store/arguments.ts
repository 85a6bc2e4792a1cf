// Run-time checks of every public store argument, before any SQL: a caller in plain
// JavaScript (or behind an `as`) gets a typed error naming the argument, never a value
// of an unexpected type at the database. Column limits come from the model, declared once.
import type { EntityProperty } from '@mikro-orm/core';
import { FULLAUTH_MODEL } from '../model.js';
import type { FullauthIdStrategy } from '../ids.js';
import { InvalidArgumentError, NotFoundError, ValueTooLongError } from './errors.js';

/** The size of a varchar column of the contract, read from the model. */
const varchar = <E extends keyof typeof FULLAUTH_MODEL>(entity: E, property: keyof (typeof FULLAUTH_MODEL)[E]['properties']): number => {
  const spec = (FULLAUTH_MODEL[entity].properties as Record<string, { length?: number }>)[property as string];
  return spec!.length!;
};

export const LIMITS = {
  email: varchar('FullauthUser', 'email'),
  familyId: varchar('FullauthRefreshToken', 'familyId'),
  userAgent: varchar('FullauthRefreshToken', 'userAgent'),
  ipAddress: varchar('FullauthRefreshToken', 'ipAddress'),
  role: varchar('FullauthRole', 'name'),
  permission: varchar('FullauthPermission', 'name'),
  description: varchar('FullauthPermission', 'description'),
  provider: varchar('FullauthOAuthAccount', 'provider'),
  providerUserId: varchar('FullauthOAuthAccount', 'providerUserId'),
  providerEmail: varchar('FullauthOAuthAccount', 'providerEmail'),
  credentialId: varchar('FullauthPasskey', 'credentialId'),
  deviceName: varchar('FullauthPasskey', 'deviceName'),
  transports: varchar('FullauthPasskey', 'transports'),
  /** An opaque or JWT refresh token longer than this is no token of ours (JWTs with claims are a few hundred bytes). */
  token: 8192,
} as const;

/** The range of the `integer` sign-count column. */
export const INT4_MAX = 2_147_483_647;
const INT8_MAX = 9_223_372_036_854_775_807n;

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? `an object (${Object.prototype.toString.call(value).slice(8, -1)})` : typeof value;

/** ES2024's `String.prototype.isWellFormed()` (Node.js 20 has it; the project's TypeScript lib is older): no lone surrogate. */
type WellFormedCheck = string & { isWellFormed(): boolean };

/**
 * A primitive string (`new String(…)` and every other type are refused), well-formed, within `max` characters.
 * `bytes`: the column's size in bytes of UTF-8 (a MySQL/MariaDB TEXT column holds 65,535), where
 * it has one: in strict mode the database refuses a longer value, otherwise it cuts it.
 */
export function text(argument: string, value: unknown, max?: number, { empty = false, bytes }: { empty?: boolean; bytes?: number | undefined } = {}): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(argument, `must be a string, got ${describe(value)}`);
  if (!empty && value.length === 0) throw new InvalidArgumentError(argument, 'must not be empty');
  if (value.includes('\u0000')) throw new InvalidArgumentError(argument, 'must not contain a NUL character (U+0000)');
  // A lone surrogate would reach the database as U+FFFD: two different strings would become one.
  if (!(value as WellFormedCheck).isWellFormed()) throw new InvalidArgumentError(argument, 'must be well-formed Unicode (it holds a lone surrogate)');
  // varchar(n) counts characters (code points); a string's length counts UTF-16 units, never fewer.
  if (max !== undefined && value.length > max && [...value].length > max) throw new ValueTooLongError(argument, max);
  // A UTF-16 unit is at most 3 bytes of UTF-8 (a surrogate pair, two units, is 4): most values need no count.
  if (bytes !== undefined && value.length * 3 > bytes && Buffer.byteLength(value, 'utf8') > bytes) throw new ValueTooLongError(argument, bytes, 'bytes');
  return value;
}

export function optionalText(argument: string, value: unknown, max?: number, bytes?: number): string | null {
  return value === undefined || value === null ? null : text(argument, value, max, { empty: true, bytes });
}

/** Captured request data (user agent, IP): cut to the column, as a header is not the caller's to shorten. */
export function captured(argument: string, value: unknown, max: number): string | null {
  const checked = optionalText(argument, value);
  return checked === null ? null : [...checked].slice(0, max).join('');
}

export function bool(argument: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(argument, `must be true or false, got ${describe(value)}`);
  return value;
}

export function integer(argument: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InvalidArgumentError(argument, `must be a whole number, got ${typeof value === 'number' ? String(value) : describe(value)}`);
  }
  if (value < min || value > max) throw new InvalidArgumentError(argument, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

/** The dates both services can hold: Python's `datetime` spans the years 1 to 9999. */
const MIN_TIME = new Date(0).setUTCFullYear(1, 0, 1); // Date.UTC() reads the year 1 as 1901
const MAX_TIME = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** A real Date within the years 1–9999, read through Date's own method (a look-alike or Proxy is refused); a copy is returned. */
export function date(argument: string, value: unknown): Date {
  let time = Number.NaN;
  try {
    time = Date.prototype.getTime.call(value);
  } catch {
    // not a Date
  }
  if (Number.isNaN(time)) throw new InvalidArgumentError(argument, `must be a valid Date, got ${describe(value)}`);
  if (time < MIN_TIME || time > MAX_TIME) throw new InvalidArgumentError(argument, 'must be a date between the years 1 and 9999');
  return new Date(time);
}

/**
 * A plain options object (or nothing), as a copy of its own properties only: an inherited
 * property (a polluted `Object.prototype.isSuperuser`, say) is never read. Unknown keys are
 * refused, so a typo is not silently ignored.
 */
export function options<T extends object>(argument: string, value: T | undefined, keys: readonly string[]): Partial<T> {
  if (value === undefined) return Object.create(null) as Partial<T>;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidArgumentError(argument, `must be an object, got ${describe(value)}`);
  }
  const own = Object.keys(value);
  // Every key is checked before any is read (a getter runs only for a valid object); the
  // unknown ones are gathered only for the error, not on every call.
  for (let i = 0; i < own.length; i++) {
    if (keys.includes(own[i]!)) continue;
    const unknown = own.filter((key) => !keys.includes(key));
    const shown = unknown.slice(0, 5).map((k) => `'${k.slice(0, 40)}'`).join(', ');
    throw new InvalidArgumentError(argument, `has unknown key${unknown.length > 1 ? 's' : ''} ${shown}${unknown.length > 5 ? ` and ${unknown.length - 5} more` : ''}; valid: ${keys.join(', ')}`);
  }
  const copy = Object.create(null) as Record<string, unknown>;
  for (let i = 0; i < own.length; i++) copy[own[i]!] = (value as Record<string, unknown>)[own[i]!];
  return copy as Partial<T>;
}

/** An array's items, read by index from a copy (an own `map` or iterator of the caller's is never called). */
export function items(argument: string, value: unknown, max: number): unknown[] {
  if (!Array.isArray(value)) throw new InvalidArgumentError(argument, 'must be an array');
  const copy = Array.prototype.slice.call(value) as unknown[];
  if (copy.length > max) throw new InvalidArgumentError(argument, `must have at most ${max} items, got ${copy.length}`);
  return copy;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** What each UTF-16 unit is in a uuid as the database gives it back (lower case): 1 a hex digit, 2 a dash, 0 neither. */
const UUID_UNIT = new Uint8Array(65_536);
for (const digit of '0123456789abcdef') UUID_UNIT[digit.charCodeAt(0)] = 1;
UUID_UNIT['-'.charCodeAt(0)] = 2;
/** The unit each position of such a uuid holds (8-4-4-4-12 digits). */
const UUID_LAYOUT = Uint8Array.from('xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx', (c) => (c === '-' ? 2 : 1));
/**
 * A uuid as the database gives it back (lower case): the usual argument, taken as it is. By
 * table, not regular expression: a test per call was a measurable share of a SQLite call.
 */
function storedUuid(value: string): boolean {
  if (value.length !== 36) return false;
  for (let i = 0; i < 36; i++) if (UUID_UNIT[value.charCodeAt(i)] !== UUID_LAYOUT[i]) return false;
  return true;
}
const DIGITS = /^\d{1,19}$/;

/** Whether a string can be an id of the strategy (a bigint id must fit int8 and be positive). */
export function possibleId(strategy: FullauthIdStrategy, id: string): boolean {
  if (strategy !== 'bigint') return UUID.test(id);
  if (!DIGITS.test(id)) return false;
  const value = BigInt(id);
  return value >= 1n && value <= INT8_MAX;
}

/**
 * An id argument: a non-string is an `InvalidArgumentError`; a string that cannot be an id
 * is a `NotFoundError` (no such record can exist), raised before any SQL so it never aborts
 * the caller's transaction.
 */
export function id(argument: string, value: unknown, strategy: FullauthIdStrategy, what = 'user'): string {
  if (typeof value !== 'string') throw new InvalidArgumentError(argument, `must be a string id, got ${describe(value)}`);
  if (strategy !== 'bigint' && storedUuid(value)) return value;
  if (!possibleId(strategy, value)) throw new NotFoundError(`No ${what} with id '${value.slice(0, 64)}' (not a valid id).`);
  return canonicalId(strategy, value);
}

/**
 * An id as the database gives it back: a uuid in lower case, a bigint without leading zeros.
 * What the store hands on (a token's `sub`, a record's `userId`) then equals the row's id.
 */
export function canonicalId(strategy: FullauthIdStrategy, id: string): string {
  return strategy === 'bigint' ? (id.length > 1 && id.startsWith('0') ? String(BigInt(id)) : id) : id.toLowerCase();
}

/** Roles in one syncRoles() map, and permissions of one role (far below PostgreSQL's 65,535 bind parameters). */
const MAX_MAP_ENTRIES = 10_000;

/** The role map of `syncRoles()`, checked and in a fixed order (roles and permissions sorted, duplicates dropped). */
export function checkRoleMap(map: unknown): [string, string[]][] {
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new InvalidArgumentError('map', 'must be an object of role name → permission names');
  }
  const roles = Object.keys(map);
  if (roles.length > MAX_MAP_ENTRIES) throw new InvalidArgumentError('map', `must have at most ${MAX_MAP_ENTRIES} roles`);
  return roles
    .map((role): [string, string[]] => {
      text('map role name', role, LIMITS.role);
      const argument = `map['${role.slice(0, 100)}']`;
      const names = items(argument, (map as Record<string, unknown>)[role], MAX_MAP_ENTRIES).map((p) => text(`${argument} permission`, p, LIMITS.permission));
      return [role, [...new Set(names)].sort()];
    })
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Passkey transports: strings without commas (the column joins them with ','), within the column. */
export function checkTransports(value: unknown): string {
  if (value === undefined) return '';
  const names = items('transports', value, 100).map((t) => text('transports item', t, LIMITS.transports));
  if (names.some((t) => t.includes(','))) throw new InvalidArgumentError('transports', 'items must not contain a comma');
  return text('transports', names.join(','), LIMITS.transports, { empty: true });
}

/**
 * A host property's value, checked against what its property declares, so the database never
 * has to refuse it (which would abort a caller's transaction): strings within the column's
 * length, finite numbers, booleans, valid dates, integer bigints. Other types (JSON, arrays,
 * custom types) are converted by the property's own type.
 */
export function checkHostValue(argument: string, value: unknown, prop: EntityProperty): unknown {
  switch (prop.runtimeType) {
    case 'string':
      return text(argument, value, typeof prop.length === 'number' && prop.length > 0 ? prop.length : undefined, { empty: true });
    case 'number':
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new InvalidArgumentError(argument, 'must be a finite number');
      return value;
    case 'boolean':
      return bool(argument, value, false);
    case 'Date':
      return date(argument, value);
    case 'bigint':
      if (typeof value === 'bigint' || (typeof value === 'string' && /^-?\d{1,19}$/.test(value)) || Number.isSafeInteger(value)) return value;
      throw new InvalidArgumentError(argument, 'must be a whole number (bigint, integer or digit string)');
    default:
      return value;
  }
}
