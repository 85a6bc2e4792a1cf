// The store on PostgreSQL (and PGlite). The user's row is the lock of their tokens:
// - issuing and rotating take it `FOR SHARE` inside the one statement that checks `is_active`
//   and writes (a CTE: lock, compare-and-set, insert), so they run side by side;
// - every revocation takes it `FOR NO KEY UPDATE` first (or updates/deletes the user), which
//   waits for the rotations under way and then sees their successors; a rotation that comes
//   after it finds its token revoked (PostgreSQL re-checks an UPDATE's WHERE on the newest
//   row version after a lock wait);
// - changes of the role/permission map take a transaction-level advisory lock;
// - the purge passes over rows a revocation holds (`SKIP LOCKED`) instead of waiting for them
//   in another order (which deadlocks).
import { createHash } from 'node:crypto';
import { executeBound, executePostgres, inTransaction } from '../../orm-compat.js';
import { plainColumns } from '../rows.js';
import { onConflictDoNothing, plainEquality, type ConflictFreeInserts, type Statement, type StoreDialect, type TokenTables, type TokenValues } from './dialect.js';

/** `?` → `$1, $2, …` (the store's statements hold no `?` in literals or operators). */
function numbered(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}
const statement = (sql: string): Statement => ({ sql, text: numbered(sql) });

/**
 * The statements of the token procedures, made once per store: by its tables (the store passes
 * one object for them) and, for inserts, whether the store or the database makes the row's id.
 */
interface TokenStatements {
  issue?: Statement;
  issueDbId?: Statement;
  spend?: Statement;
  spendDbId?: Statement;
}
const tokenStatements = new WeakMap<TokenTables, TokenStatements>();
function tokenStatementsOf(t: TokenTables): TokenStatements {
  let statements = tokenStatements.get(t);
  if (statements === undefined) tokenStatements.set(t, (statements = {}));
  return statements;
}

/** `insertIfAbsent`'s statements, by the insert (see `onConflictDoNothing`). */
const upserts: ConflictFreeInserts<Statement> = new Map();
const upsert = (insert: string, conflict: string, returning: string): Statement => onConflictDoNothing(upserts, insert, conflict, returning, statement);

/** A bigint advisory-lock key from a name (the first 8 bytes of its sha256, signed). */
function advisoryKey(name: string): string {
  return createHash('sha256').update(name).digest().readBigInt64BE(0).toString();
}
const advisoryKeys = new Map<string, string>();

/** A token of a login: inserted only while its user exists and is active, the user's row shared (re-checked after any wait). */
const issue = (t: TokenTables, v: TokenValues) =>
  statement(
    `with "owner" as (select "id" from ${t.users} where "id" = ? and "is_active" for share)
     insert into ${t.tokens} (${v.idColumn}"token", "user_id", "family_id", "expires_at", "revoked", "user_agent", "ip_address", "created_at")
     select ${v.idValue}?, "owner"."id", ?, ?, false, ?, ?, ? from "owner" returning "id"`,
  );

/** Rotation: the token spent (compare-and-set) and its successor inserted, under the user's row shared. */
const spend = (t: TokenTables, v: TokenValues) =>
  statement(
    `with "owner" as (select "id" from ${t.users} where "id" = ? and "is_active" for share),
     "spent" as (update ${t.tokens} set "revoked" = true
       where "token" = ? and "revoked" = false and "expires_at" > ? and "user_id" = (select "id" from "owner")
       returning "user_id", "family_id")
     insert into ${t.tokens} (${v.idColumn}"token", "user_id", "family_id", "expires_at", "revoked", "user_agent", "ip_address", "created_at")
     select ${v.idValue}?, "user_id", "family_id", ?, false, ?, ?, ? from "spent" returning "id", "user_id", "family_id"`,
  );

export const postgresql: StoreDialect = {
  name: 'postgresql',

  // Statements go to MikroORM's own `pg` pool where it can (see orm-compat.ts), else through Kysely/knex.
  // A reader's rows as arrays where asked for (`arrays`): pg then builds no object per row.
  execute: (session, sql, params, text, arrays) => (text === undefined ? executeBound(session, sql, params, true) : executePostgres(session, sql, text, params, arrays)),
  prepare: numbered,
  transaction: (session, fn) => inTransaction(session, fn, true),
  roleMapTransaction(db, _session, _own, lockName, fn) {
    let key = advisoryKeys.get(lockName);
    if (key === undefined) advisoryKeys.set(lockName, (key = advisoryKey(lockName)));
    return db.transaction(async (em) => {
      await db.rows('select pg_advisory_xact_lock(?::bigint)', [key], em);
      return fn(em);
    });
  },

  // Native uuid, timestamptz and boolean: the driver's own values (rows are read as they come).
  key: (id) => id,
  stamp: (date) => date,
  columns: plainColumns,
  conflictOn(error, index) {
    const cause = error.cause as { constraint?: string } | undefined;
    return cause?.constraint === index || error.message.includes(`"${index}"`);
  },

  lockShared: 'for share',
  lockExclusive: 'for update',
  // Inserts that reference the user (a rotation's successor) still pass this lock's holder by.
  lockForRevocation: 'for no key update',
  insertReturning: true,
  updateReturning: true,
  latestRead: '',
  // Foreign keys are always enforced.
  exactText: plainEquality,
  orphans: false,
  snapshotWrites: true,
  textBytes: undefined,

  async insertIfAbsent(db, em, insert, params, conflict, returning) {
    const sql = upsert(insert, conflict, returning);
    if (returning) {
      const rows = await db.rows(sql, params, em);
      return { inserted: rows.length > 0, rows };
    }
    return { inserted: (await db.affected(sql, params, em)) > 0, rows: [] };
  },

  async issueToken(db, t, userKey, family, v, em) {
    // One statement: the user's row shared and checked active (re-checked after any wait).
    const statements = tokenStatementsOf(t);
    const [row] = await db.rows(
      v.idColumn ? (statements.issue ??= issue(t, v)) : (statements.issueDbId ??= issue(t, v)),
      [userKey, ...v.idParams, v.digest, family, v.expiresAt, v.userAgent, v.ipAddress, v.createdAt],
      em,
    );
    return row ? String(row.id) : null;
  },

  async spendAndIssue(db, t, userKey, digest, cutoff, v) {
    // The compare-and-set UPDATE and the INSERT commit together or not at all, and only the
    // caller whose UPDATE matched gets a row. A revocation holding the user's row makes this
    // wait, and its committed `revoked = true` then fails the compare-and-set.
    const statements = tokenStatementsOf(t);
    const [row] = await db.rows(
      v.idColumn ? (statements.spend ??= spend(t, v)) : (statements.spendDbId ??= spend(t, v)),
      [userKey, digest, cutoff, ...v.idParams, v.digest, v.expiresAt, v.userAgent, v.ipAddress, v.createdAt],
    );
    return row ? String(row.id) : null;
  },

  sessions: {
    statement(t) {
      const live = `not "revoked" and "expires_at" > ?`;
      return `select "family_id", min("created_at") as "started_at", max("created_at") as "last_used_at",
                (array_agg("expires_at" order by "created_at" desc) filter (where ${live}))[1] as "expires_at",
                (array_agg("user_agent" order by "created_at" desc) filter (where ${live}))[1] as "user_agent",
                (array_agg("ip_address" order by "created_at" desc) filter (where ${live}))[1] as "ip_address"
         from ${t.tokens}
         where "user_id" = ? and "family_id" in (select "family_id" from ${t.tokens} where "user_id" = ? and ${live})
         group by "family_id" order by max("created_at") desc`;
    },
    params: (userKey, now) => [now, now, now, userKey, userKey, now],
  },

  purgeBatch(db, { tokens }, before, batch) {
    // SKIP LOCKED: rows a revocation (or a deletion's cascade) holds are left for the next
    // run instead of waited for in another order than theirs (which deadlocks).
    return db.affected(
      `delete from ${tokens} where "id" in (select "id" from ${tokens} where "expires_at" < ? limit ? for update skip locked)`,
      [before, batch],
    );
  },

  async revokeUnlisted(db, em, grants, permissions, roleKey, keep) {
    const unlisted = keep.length ? `and p."name" not in (${keep.map(() => '?').join(', ')})` : '';
    const removed = await db.rows(
      `delete from ${grants} rp using ${permissions} p
       where rp."permission_id" = p."id" and rp."role_id" = ? ${unlisted} returning p."name"`,
      [roleKey, ...keep],
      em,
    );
    return removed.map((r) => String(r.name));
  },
};
