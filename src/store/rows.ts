// Rows → records: how the store reads the rows a driver returns (by name or by position) into
// the public records of records.ts, and PostgreSQL's timestamp text. Internal: not exported
// from src/index.ts.
import type { OAuthAccountRecord, PasskeyRecord, UserRecord } from './records.js';

type Row = Record<string, unknown>;

/** A timestamp as the driver returns it (a Date, or PostgreSQL's text), or null. */
export const date = (value: unknown): Date | null => {
  if (value == null) return null;
  if (value instanceof Date) return value;
  const text = String(value);
  // PostgreSQL's own form read here (MikroORM's pool hands timestamptz on as text): V8's
  // parser takes ~190 ns per value, a list of sessions reads three per row.
  // It also reads what V8 reads wrong or not at all: years below 100 (V8: 19xx/20xx), BC, and
  // the offsets of seconds of local mean time (a session time zone's years before 1900).
  const ms = postgresTimestamp(text);
  return new Date(Number.isNaN(ms) ? text : ms);
};

/** The two ASCII digits at `i` of `s` as a number, or NaN (also for a place past the end). */
function two(s: string, i: number): number {
  const tens = s.charCodeAt(i) - 48;
  const ones = s.charCodeAt(i + 1) - 48;
  return tens >>> 0 <= 9 && ones >>> 0 <= 9 ? tens * 10 + ones : NaN;
}

/**
 * A timestamptz as PostgreSQL writes it in its ISO DateStyle, "2026-12-03 02:24:26.609+00"
 * (a year of four digits or more, up to six fractional digits, an offset of hours, ":MM" or
 * ":MM:SS", " BC" after it), as epoch milliseconds; NaN for any other form (infinity), which
 * `new Date` then reads. Fractions are cut to milliseconds, as `new Date` cuts them.
 */
export function postgresTimestamp(text: string): number {
  const bc = text.charCodeAt(text.length - 1) === 67 && text.endsWith(' BC');
  // Every field has its place after the year's digits (four, in all but the rarest rows).
  let s = text;
  let year = two(text, 0) * 100 + two(text, 2);
  if (text.charCodeAt(4) !== 45) {
    const dash = text.indexOf('-', 5);
    if (dash < 5 || dash > 6 || !/^\d+$/.test(text.slice(0, dash))) return NaN;
    year = Number(text.slice(0, dash));
    s = text.slice(dash - 4);
  }
  const end = s.length - (bc ? 3 : 0);
  if (end < 22 || s.charCodeAt(7) !== 45 || s.charCodeAt(10) !== 32 || s.charCodeAt(13) !== 58 || s.charCodeAt(16) !== 58) return NaN;
  const month = two(s, 5);
  const day = two(s, 8);
  const hour = two(s, 11);
  const minute = two(s, 14);
  const second = two(s, 17);
  if (!(month >= 1 && month <= 12 && day >= 1 && day <= 31 && hour <= 23 && minute <= 59 && second <= 59)) return NaN;
  let i = 19;
  let ms = 0;
  if (s.charCodeAt(i) === 46) {
    const start = ++i;
    while (i < end && i - start < 6 && (s.charCodeAt(i) - 48) >>> 0 <= 9) i++;
    if (i === start) return NaN;
    for (let k = start; k < start + 3; k++) ms = ms * 10 + (k < i ? s.charCodeAt(k) - 48 : 0);
  }
  const sign = s.charCodeAt(i) === 43 ? 1 : s.charCodeAt(i) === 45 ? -1 : 0;
  if (sign === 0) return NaN;
  let offset = two(s, i + 1) * 3600;
  i += 3;
  for (let unit = 60; i < end && unit >= 1; unit /= 60, i += 3) {
    if (s.charCodeAt(i) !== 58) return NaN;
    offset += two(s, i + 1) * unit;
  }
  // Past the end (a field cut short) or a field not of digits: not PostgreSQL's form.
  if (i !== end || Number.isNaN(offset) || Number.isNaN(year)) return NaN;
  // 1 BC is year 0 of the proleptic Gregorian calendar, 2 BC year -1.
  const days = daysFromCivil(bc ? 1 - year : year, month, day);
  return days * 86_400_000 + ((hour * 60 + minute) * 60 + second - sign * offset) * 1000 + ms;
}

/** Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}


/**
 * How a database's driver values of keys, booleans and timestamps read as record values: the
 * store builds its row → record mappers from these once per dialect (`plainColumns` for rows
 * the dialect already converted, or PostgreSQL's; the hex dialects' `hexColumns` for rows
 * straight from their driver, converted in the same pass).
 */
export interface Columns {
  key(value: unknown): string;
  flag(value: unknown): boolean;
  date(value: unknown): Date | null;
}
export const plainColumns: Columns = { key: String, flag: (value) => value === true, date };

/**
 * A record's columns, declared once: their select list (in this order) and where a row holds
 * each, by property name (a row object) or by position (a row array of the select list, as
 * node:sqlite and pg give rows where asked: one shape for every row, read without look-ups).
 */
export interface RecordColumns<C extends readonly string[]> {
  readonly names: C;
  /** `"id", "email", …`: the columns quoted, in order. */
  readonly select: string;
  readonly byName: Layout<C>;
  readonly byPosition: Layout<C>;
}
/** Where a row holds each column: a property name or a position. */
type Layout<C extends readonly string[]> = Record<C[number], string | number>;

function recordColumns<const C extends readonly string[]>(names: C): RecordColumns<C> {
  return {
    names,
    select: names.map((column) => `"${column}"`).join(', '),
    byName: Object.fromEntries(names.map((column) => [column, column])) as Layout<C>,
    byPosition: Object.fromEntries(names.map((column, i) => [column, i])) as Layout<C>,
  };
}

/** The columns a `UserRecord` is read from. */
export const USER_COLUMNS = recordColumns(['id', 'email', 'hashed_password', 'is_active', 'is_verified', 'is_superuser', 'created_at']);
type UserLayout = Layout<typeof USER_COLUMNS.names>;

/** A user row → `UserRecord`, with the given column readers (made once per store, not per row). */
export function userRecords({ key, flag, date: time }: Columns, at: UserLayout = USER_COLUMNS.byName): (r: Row | readonly unknown[]) => UserRecord {
  const { id, email, hashed_password, is_active, is_verified, is_superuser, created_at } = at;
  return (row) => {
    const r = row as Record<string | number, unknown>;
    return {
      id: key(r[id]),
      email: String(r[email]),
      hashedPassword: (r[hashed_password] as string | null) ?? null,
      isActive: flag(r[is_active]),
      isVerified: flag(r[is_verified]),
      isSuperuser: flag(r[is_superuser]),
      createdAt: time(r[created_at])!,
    };
  };
}

export const toUser = userRecords(plainColumns);

/** The columns an `OAuthAccountRecord` is read from. */
export const OAUTH_COLUMNS = recordColumns(['id', 'provider', 'provider_user_id', 'user_id', 'provider_email', 'access_token', 'refresh_token', 'expires_at', 'created_at']);
type OAuthLayout = Layout<typeof OAUTH_COLUMNS.names>;

/** An OAuth account row → `OAuthAccountRecord`, with the given column readers (as `userRecords()`). */
export function oauthRecords({ key, date: time }: Columns, at: OAuthLayout = OAUTH_COLUMNS.byName): (r: Row | readonly unknown[]) => OAuthAccountRecord {
  const { id, provider, provider_user_id, user_id, provider_email, access_token, refresh_token, expires_at, created_at } = at;
  return (row) => {
    const r = row as Record<string | number, unknown>;
    return {
      id: key(r[id]),
      provider: String(r[provider]),
      providerUserId: String(r[provider_user_id]),
      userId: key(r[user_id]),
      providerEmail: (r[provider_email] as string | null) ?? null,
      accessToken: (r[access_token] as string | null) ?? null,
      refreshToken: (r[refresh_token] as string | null) ?? null,
      expiresAt: time(r[expires_at]),
      createdAt: time(r[created_at])!,
    };
  };
}

export const toOAuth = oauthRecords(plainColumns);

/** The columns a `PasskeyRecord` is read from. */
export const PASSKEY_COLUMNS = recordColumns(['id', 'user_id', 'credential_id', 'public_key', 'sign_count', 'device_name', 'transports', 'backed_up', 'created_at', 'last_used_at']);
type PasskeyLayout = Layout<typeof PASSKEY_COLUMNS.names>;

/** A passkey row → `PasskeyRecord`, with the given column readers (as `userRecords()`). */
export function passkeyRecords({ key, flag, date: time }: Columns, at: PasskeyLayout = PASSKEY_COLUMNS.byName): (r: Row | readonly unknown[]) => PasskeyRecord {
  const { id, user_id, credential_id, public_key, sign_count, device_name, transports, backed_up, created_at, last_used_at } = at;
  return (row) => {
    const r = row as Record<string | number, unknown>;
    return {
      id: key(r[id]),
      userId: key(r[user_id]),
      credentialId: String(r[credential_id]),
      publicKey: String(r[public_key]),
      signCount: Number(r[sign_count]),
      deviceName: String(r[device_name]),
      transports: String(r[transports]),
      backedUp: flag(r[backed_up]),
      createdAt: time(r[created_at])!,
      lastUsedAt: time(r[last_used_at]),
    };
  };
}

export const toPasskey = passkeyRecords(plainColumns);
