// Statements written once for the databases without PostgreSQL's extras (array_agg … filter,
// DELETE … USING … RETURNING): MySQL/MariaDB and SQLite.
import { hexToUuid, parseUtc } from '../../column-types.js';
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
      if (typeof value === 'string') row[column] = hexToUuid(value);
    } else if (kind === BOOLEAN) row[column] = Number(value) === 1;
    else if (typeof value === 'string') row[column] = parseUtc(value);
  }
  return row;
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
 * The user's live sessions: per family, the first and last `created_at` of all its tokens,
 * and the newest live token (ties broken by id, as uuidv7 ids are time ordered) for expiry,
 * user agent and IP. Families without a live token drop out with the inner join; tokens of
 * a user who is gone (orphans) are no session.
 */
export function listSessions(db: Db, { users, tokens }: TokenTables, userKey: unknown, now: unknown): Promise<Row[]> {
  return db.rows(
    `select g."family_id", g."started_at", g."last_used_at", n."expires_at", n."user_agent", n."ip_address"
     from (select "family_id", min("created_at") as "started_at", max("created_at") as "last_used_at"
           from ${tokens} where "user_id" = ? and exists (select 1 from ${users} where "id" = ?) group by "family_id") g
     join ${tokens} n on n."id" = (
       select l."id" from ${tokens} l
       where l."user_id" = ? and l."family_id" = g."family_id" and not l."revoked" and l."expires_at" > ?
       order by l."created_at" desc, l."id" desc limit 1)
     order by g."last_used_at" desc, g."family_id"`,
    [userKey, userKey, userKey, now],
  );
}

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
