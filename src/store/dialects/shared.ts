// Statements written once for the databases without PostgreSQL's extras (array_agg … filter,
// DELETE … USING … RETURNING): MySQL/MariaDB and SQLite.
import { hexToUuid, parseUtc, uuidToHex } from '../../column-types.js';
import { date, type Columns } from '../rows.js';
import { BOOLEAN_COLUMNS, DATE_COLUMNS, KEY_COLUMNS, marks, padded, type Context, type Db, type Row, type StoreDialect, type TokenTables, type TokenValues } from './dialect.js';

/** What a column of `KEY_COLUMNS`, `BOOLEAN_COLUMNS` or `DATE_COLUMNS` holds: one look-up per column instead of three. */
const KEY = 1;
const BOOLEAN = 2;
const DATE = 3;
const COLUMN_KINDS = new Map<string, number>([
  ...[...KEY_COLUMNS].map((column) => [column, KEY] as const),
  ...[...BOOLEAN_COLUMNS].map((column) => [column, BOOLEAN] as const),
  ...[...DATE_COLUMNS].map((column) => [column, DATE] as const),
]);

/**
 * A row read as MySQL and SQLite store it: keys as 32 hex digits → canonical uuids, booleans
 * as 1/0 → booleans, timestamps as UTC text → Dates (in place).
 */
export function hexRow(row: Row): Row {
  for (const column in row) {
    const kind = COLUMN_KINDS.get(column);
    if (kind === undefined) continue;
    const value = row[column];
    if (value === null || value === undefined) continue;
    if (kind === KEY) {
      if (typeof value === 'string') row[column] = hexKey(value);
    } else if (kind === BOOLEAN) row[column] = Number(value) === 1;
    else if (typeof value === 'string') row[column] = utcDate(value);
  }
  return row;
}

/**
 * One value of a row as MySQL and SQLite store it, read as `hexRow()` and then a record
 * (`toUser()`, …) read it, in one step: the store's per-table mappers (rows.ts) use these on
 * rows straight from the driver, without converting every column of the row in place first.
 */
export const hexColumns: Columns = {
  key: (value) => (typeof value === 'string' ? hexKey(value) : String(value)),
  flag: (value) => value !== null && value !== undefined && Number(value) === 1,
  date: (value) => (typeof value === 'string' ? utcDate(value) : date(value)),
};

const LOWER_HEX_KEY = /^[0-9a-f]{32}$/;

/** `hexToUuid()`; the 32 lower-case digits SQLAlchemy and the store write skip its lower-casing of a new string (half its cost). */
export function hexKey(value: string): string {
  return LOWER_HEX_KEY.test(value)
    ? `${value.slice(0, 8)}-${value.slice(8, 12)}-${value.slice(12, 16)}-${value.slice(16, 20)}-${value.slice(20)}`
    : hexToUuid(value);
}

const DASH = 45;
/**
 * `uuidToHex()` of a canonical (lower-case) uuid, as every id the store checked, made or read
 * is (`check.id()` lower-cases an argument): the 32 digits between its dashes, by slices.
 * Anything without dashes where a uuid has them goes to `uuidToHex()`. No regular expression
 * or lower-casing: at SQLite's speed either was a measurable share of a call.
 */
export function keyHex(id: string): string {
  return id.length === 36 && id.charCodeAt(8) === DASH && id.charCodeAt(13) === DASH && id.charCodeAt(18) === DASH && id.charCodeAt(23) === DASH
    ? id.slice(0, 8) + id.slice(9, 13) + id.slice(14, 18) + id.slice(19, 23) + id.slice(24)
    : uuidToHex(id);
}

/** Two or more ASCII digits of `text` from `at` as a number; -1 when one is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return -1;
    value = value * 10 + digit;
  }
  return value;
}

const daysIn = (year: number, month: number): number =>
  month === 2 ? (year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28) : month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;

/**
 * `parseUtc()` for the text SQLAlchemy and the store write (`YYYY-MM-DD HH:MM:SS.ffffff`, a
 * real date and time of the years 100–9999) from its digits, without a regex and a second
 * parse of a new string; any other text (no fraction, a T, a year below 100, a day that does
 * not exist) goes through `parseUtc()` itself, so every result is the one it gives.
 */
export function utcDate(text: string): Date {
  if (
    text.length === 26 &&
    text.charCodeAt(4) === 45 && // -
    text.charCodeAt(7) === 45 &&
    text.charCodeAt(10) === 32 && // space
    text.charCodeAt(13) === 58 && // :
    text.charCodeAt(16) === 58 &&
    text.charCodeAt(19) === 46 && // .
    digits(text, 23, 3) >= 0 // microseconds beyond the milliseconds: read, not kept (as parseUtc())
  ) {
    const year = digits(text, 0, 4);
    const month = digits(text, 5, 2);
    const day = digits(text, 8, 2);
    const hours = digits(text, 11, 2);
    const minutes = digits(text, 14, 2);
    const seconds = digits(text, 17, 2);
    const ms = digits(text, 20, 3);
    if (year >= 100 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month) && hours >= 0 && hours <= 23 && minutes >= 0 && minutes <= 59 && seconds >= 0 && seconds <= 59 && ms >= 0) {
      return new Date(Date.UTC(year, month - 1, day, hours, minutes, seconds, ms));
    }
  }
  return parseUtc(text);
}

/**
 * The statements of the token procedures, by name, each built on its first use only (`sql.name
 * ??= …`) per store: the store passes one `TokenTables` object, whose names the texts hold. No
 * call rebuilds a text, and the driver's statement cache finds it by the same string every time.
 */
export function tokenStatements(t: TokenTables): Record<string, string> {
  let made = TOKEN_SQL.get(t);
  if (made === undefined) TOKEN_SQL.set(t, (made = Object.create(null) as Record<string, string>));
  return made;
}
const TOKEN_SQL = new WeakMap<TokenTables, Record<string, string>>();

/**
 * Issuing and rotation on MySQL/MariaDB and SQLite, the same statements but for the clause that
 * takes the user's row shared when it is read (`lockShared`: MySQL's `lock in share mode`;
 * none on SQLite, where the store's own transaction holds the write lock from BEGIN IMMEDIATE
 * and a single statement is atomic on its own).
 */
export function tokenProcedures(lockShared: string): Pick<StoreDialect, 'issueToken' | 'spendAndIssue'> {
  const shared = lockShared ? ` ${lockShared}` : '';
  /** A new token's INSERT, only while its user exists and is active. */
  const issueSql = (t: TokenTables, v: TokenValues): string =>
    `insert into ${t.tokens} (${v.idColumn}"token", "user_id", "family_id", "expires_at", "revoked", "user_agent", "ip_address", "created_at")
     select ${v.idValue}?, "id", ?, ?, false, ?, ?, ? from ${t.users} where "id" = ? and "is_active"${shared}`;
  return {
    async issueToken(db, t, userKey, family, v, em) {
      // One statement; when continuing a session, inside the store's transaction, which already holds the user's row.
      const sql = tokenStatements(t);
      const inserted = await db.affected(
        v.idColumn ? (sql.issue ??= issueSql(t, v)) : (sql.issueDbId ??= issueSql(t, v)),
        [...v.idParams, v.digest, family, v.expiresAt, v.userAgent, v.ipAddress, v.createdAt, userKey],
        em,
      );
      return inserted > 0 ? v.id! : null;
    },

    spendAndIssue(db, t, userKey, digest, cutoff, v) {
      return db.transaction(async (em) => {
        const [owner] = await db.rows((tokenStatements(t).owner ??= `select "id" from ${t.users} where "id" = ? and "is_active"${shared}`), [userKey], em);
        if (!owner) return null;
        return (await spendAndInsert(db, t, userKey, digest, cutoff, v, em)) ? v.id! : null;
      });
    },
  };
}

/**
 * Rotation's writes, in the transaction `em` that already holds the user's row (or the write
 * lock): the compare-and-set UPDATE that spends the token (unspent, unexpired, the user's; its
 * change count elects the one winner), then, only for the winner, the successor's INSERT, its
 * user and family copied from the spent row. Returns whether this caller won.
 */
async function spendAndInsert(db: Db, t: TokenTables, userKey: unknown, digest: string, cutoff: Date, v: TokenValues, em: Context): Promise<boolean> {
  const sql = tokenStatements(t);
  const spent = await db.affected(
    (sql.spend ??= `update ${t.tokens} set "revoked" = true where "token" = ? and "revoked" = false and "expires_at" > ? and "user_id" = ?`),
    [digest, cutoff, userKey],
    em,
  );
  if (spent === 0) return false;
  // Whether the store or the database makes the id is fixed per store; both texts are kept apart all the same.
  await db.affected(
    v.idColumn ? (sql.successor ??= successorSql(t, v)) : (sql.successorDbId ??= successorSql(t, v)),
    [...v.idParams, v.digest, v.expiresAt, v.userAgent, v.ipAddress, v.createdAt, digest],
    em,
  );
  return true;
}

/** The successor's INSERT: its user and family copied from the spent token's row. */
const successorSql = (t: TokenTables, v: TokenValues): string =>
  `insert into ${t.tokens} (${v.idColumn}"token", "user_id", "family_id", "expires_at", "revoked", "user_agent", "ip_address", "created_at")
   select ${v.idValue}?, "user_id", "family_id", ?, false, ?, ?, ? from ${t.tokens} where "token" = ?`;

/**
 * The user's live sessions (`StoreDialect.sessions`, MySQL and SQLite): per family, the first
 * and last `created_at` of all its tokens, and the newest live token (ties broken by id, as
 * uuidv7 ids are time ordered) for expiry, user agent and IP. Families without a live token
 * drop out with the inner join; tokens of a user who is gone (orphans) are no session.
 */
export const sessions: StoreDialect['sessions'] = {
  statement: ({ users, tokens }) =>
    `select g."family_id", g."started_at", g."last_used_at", n."expires_at", n."user_agent", n."ip_address"
     from (select "family_id", min("created_at") as "started_at", max("created_at") as "last_used_at"
           from ${tokens} where "user_id" = ? and exists (select 1 from ${users} where "id" = ?) group by "family_id") g
     join ${tokens} n on n."id" = (
       select l."id" from ${tokens} l
       where l."user_id" = ? and l."family_id" = g."family_id" and not l."revoked" and l."expires_at" > ?
       order by l."created_at" desc, l."id" desc limit 1)
     order by g."last_used_at" desc, g."family_id"`,
  params: (userKey, now) => [userKey, userKey, userKey, now],
};

/** Removes a role's grants of permissions not in `keep` (the caller holds the role-map lock); returns their names, sorted. */
export async function revokeUnlisted(
  db: Db,
  em: Context,
  grants: string,
  permissions: string,
  roleKey: unknown,
  keep: readonly string[],
  key: (id: string) => unknown,
): Promise<string[]> {
  const kept = padded(keep);
  const unlisted = kept.length ? `and p."name" not in (${marks(kept)})` : '';
  const found = await db.rows(
    `select p."id", p."name" from ${grants} rp join ${permissions} p on p."id" = rp."permission_id"
     where rp."role_id" = ? ${unlisted} order by p."name"`,
    [roleKey, ...kept],
    em,
  );
  if (found.length === 0) return [];
  const removed = padded(found.map((r) => key(String(r.id))));
  await db.affected(`delete from ${grants} where "role_id" = ? and "permission_id" in (${marks(removed)})`, [roleKey, ...removed], em);
  return found.map((r) => String(r.name));
}
