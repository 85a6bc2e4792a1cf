// The store on MySQL and MariaDB (InnoDB). The user's row is the lock of their tokens, as on
// PostgreSQL, with InnoDB's row locks:
// - the store's own transactions run at READ COMMITTED: locking reads and UPDATEs read the
//   newest committed row (never a snapshot), and no gap or next-key locks are taken, so
//   operations on different users never wait for (or deadlock with) each other;
// - issuing takes the user's row `LOCK IN SHARE MODE` in the statement that checks
//   `is_active` and inserts (INSERT … SELECT), so it waits for a revocation under way and
//   then sees its outcome;
// - rotation is one transaction: the user's row `LOCK IN SHARE MODE` (active?), the
//   compare-and-set `UPDATE … SET revoked = true WHERE token = ? AND revoked = false` (its
//   affected-row count elects the one winner: a concurrent rotation waits for the winner's
//   row lock and then finds the token revoked), the successor's INSERT, COMMIT;
// - every revocation first takes the user's row `FOR UPDATE` (or updates/deletes the user):
//   it waits for the rotations holding the row shared, then its UPDATE sees their successors;
//   a rotation that comes later waits for it and then finds its token revoked;
// - changes of the role/permission map take a named lock (GET_LOCK) on the connection of their
//   transaction, released after the COMMIT;
// - the purge takes the users of its batch, then their expired tokens, `FOR UPDATE SKIP
//   LOCKED` (MySQL 8.0, MariaDB 10.6): it never waits for a row a revocation holds, and holds
//   no token a revocation could wait for (a batch covers at most 10,000 users);
// - deadlocks (1213) and lock wait timeouts (1205) are `RetryableStoreError`s (nothing was written).
// Values: uuids as 32 hex digits, timestamps as UTC text (written in whole seconds, as
// MySQL's DATETIME keeps them; compared with their fraction), booleans as 0/1. Statements go to
// mysql2's `execute()` (prepared, values apart from the text; see orm-compat.ts).
import { createHash } from 'node:crypto';
import { uuidToHex } from '../../column-types.js';
import { executeMysql, onOwnConnection, transactional, transactionOn, onOwnKnexMysqlConnection, type SqlSession } from '../../orm-compat.js';
import { ConflictError, RetryableStoreError } from '../errors.js';
import { marks, padded, utcSeconds, type Context, type ExactText, type Row, type StoreDialect } from './dialect.js';
import { hexColumns, hexRow, keyHex, revokeUnlisted, sessions, tokenProcedures } from './shared.js';

/** The store writes identifiers in double quotes; MySQL quotes them in backticks (unless ANSI_QUOTES). */
const IDENTIFIER = /"([A-Za-z_][A-Za-z0-9_]*)"/g;
const texts = new Map<string, string>();
function text(sql: string): string {
  let out = texts.get(sql);
  if (out === undefined) {
    out = sql.replace(IDENTIFIER, '`$1`');
    if (texts.size >= 512) texts.clear();
    texts.set(sql, out);
  }
  return out;
}

/** A value bound in a comparison: a Date as UTC text with its milliseconds (stored values have whole seconds). */
const bound = (value: unknown): unknown =>
  value instanceof Date ? `${utcSeconds(value)}.${String(value.getUTCMilliseconds()).padStart(3, '0')}` : value;

/**
 * `column = ?` (the column's index, by its collation: case, accents and, on MariaDB, trailing
 * spaces ignored by default) and the same value compared as bytes, so that only the exact text
 * matches. The column's text is compared as utf8mb4, the value's character set: a table made
 * in latin1 (fastapi-fullauth's on a server whose default is latin1) holds other bytes for `ä`.
 */
const exactText: ExactText = {
  sql: (column) => `${column} = ? and cast(convert(${column} using utf8mb4) as binary) = cast(? as binary)`,
  values: (value) => [value, value],
};

const BEGIN = ['set transaction isolation level read committed', 'start transaction'];
/** How long a role-map change waits for another (seconds), as InnoDB's default lock wait. */
const ROLE_MAP_WAIT_SECONDS = 50;

/**
 * The sessions of the store's own transactions, at READ COMMITTED: there a locking read of a
 * row that is not there takes no gap lock. In a caller's transaction (REPEATABLE READ unless
 * the caller chose otherwise) it does, and callers that read the same missing row that way and
 * then insert it deadlock on each other's gap locks: there the insert goes first.
 */
const readCommitted = new WeakSet<SqlSession>();
const atReadCommitted =
  <T>(fn: (session: SqlSession) => Promise<T>) =>
  (session: SqlSession): Promise<T> => {
    readCommitted.add(session);
    return fn(session);
  };

/** A transaction of the store's own at READ COMMITTED, on a connection reserved for it. */
async function transaction<T>(session: SqlSession, fn: (session: SqlSession) => Promise<T>): Promise<T> {
  const own = await onOwnConnection(session, true, (reserved) => transactionOn(reserved, BEGIN, atReadCommitted(fn)));
  return own ? own.result : transactional(session, { isolationLevel: 'read committed' }, atReadCommitted(fn));
}

/** GET_LOCK names are at most 64 characters. */
const lockName = (name: string) => `fullauth:${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;

export const mysql: StoreDialect = {
  name: 'mysql',

  execute: (session, sql, params) => executeMysql(session, text(sql), params.map(bound)),
  transaction,
  async roleMapTransaction(db, session, own, name, fn) {
    const lock = lockName(name);
    const locked = async (em: Context, body: () => Promise<unknown>) => {
      const [row] = await db.rows('select get_lock(?, ?) as "ok"', [lock, ROLE_MAP_WAIT_SECONDS], em);
      if (row?.ok !== true) throw new RetryableStoreError('Another change of the role/permission map held its lock too long; nothing was written, retry it.');
      try {
        return await body();
      } finally {
        await db.rows('select release_lock(?) as "released"', [lock], em);
      }
    };
    // In the caller's transaction the lock is released when this call returns: the rows it
    // wrote stay locked by InnoDB until the caller commits.
    if (!own) return locked(session, () => fn(session)) as Promise<Awaited<ReturnType<typeof fn>>>;
    const reserved = await onOwnConnection(session, true, (s) => locked(s, () => transactionOn(s, BEGIN, atReadCommitted(fn))));
    if (reserved) return reserved.result as Awaited<ReturnType<typeof fn>>;
    // MikroORM 6 (knex): a connection of its pool, the lock held on it until after the COMMIT.
    const knexOwn = await onOwnKnexMysqlConnection(session, (s) => locked(s, () => transactionOn(s, BEGIN, atReadCommitted(fn))));
    if (knexOwn) return knexOwn.result as Awaited<ReturnType<typeof fn>>;
    // Elsewhere: the lock inside the transaction, released before its COMMIT.
    return transactional(session, { isolationLevel: 'read committed' }, (em) => locked(em, () => atReadCommitted(fn)(em))) as Promise<Awaited<ReturnType<typeof fn>>>;
  },

  key: keyHex,
  stamp: (date) => utcSeconds(date),
  row: hexRow,
  columns: hexColumns,
  // MariaDB: "Duplicate entry '…' for key 'ix_…'"; MySQL 8: "… for key 'table.ix_…'".
  conflictOn: (error, index) => error.message.includes(`'${index}'`) || error.message.includes(`.${index}'`),

  lockShared: 'lock in share mode',
  lockExclusive: 'for update',
  lockForRevocation: 'for update',
  // MariaDB has INSERT … RETURNING, MySQL has not: one statement text for both.
  insertReturning: false,
  updateReturning: false,
  // A locking read: the newest committed row, also inside a caller's REPEATABLE READ transaction.
  latestRead: ' lock in share mode',
  exactText,
  // InnoDB enforces foreign keys (a host that turns foreign_key_checks off is on its own).
  orphans: false,
  snapshotWrites: false,
  textBytes: 65_535,

  async insertIfAbsent(db, em, insert, params, _conflict, _returning, options) {
    const existing = options?.existing;
    // A duplicate key is an error that leaves the transaction usable (unlike PostgreSQL's);
    // INSERT IGNORE would also swallow a missing user (a foreign-key failure), and
    // ON DUPLICATE KEY UPDATE reports a kept row as inserted (mysql2 sets CLIENT_FOUND_ROWS).
    // The error is the costly path (mysql2's, then MikroORM's exception, then ours: ~100 µs),
    // so in the store's own transactions the row in the way is looked for first. The read locks
    // it (shared): it cannot go before this transaction ends. Two callers that both find
    // nothing still race to the insert, and the loser's duplicate key is caught below. In a
    // caller's transaction the read of a missing row would take a gap lock (see readCommitted).
    if (existing && em !== undefined && readCommitted.has(em)) {
      const rows = await db.rows(existing.sql, existing.params, em);
      if (rows.length > 0) return { inserted: false, rows };
    }
    try {
      return { inserted: (await db.affected(insert, params, em)) > 0, rows: [] };
    } catch (error) {
      if (error instanceof ConflictError) return { inserted: false, rows: [] };
      throw error;
    }
  },

  ...tokenProcedures('lock in share mode'),

  sessions,

  purgeBatch(db, { users, tokens }, before, batch) {
    // The users first, as every revocation takes them: a revocation scanning a user's tokens
    // holds their index entries while it waits for a row, so a purge holding that row and
    // deleting its index entries would deadlock with it. The users whose row another
    // transaction holds (a revocation, a rotation, a deletion) are passed over (SKIP LOCKED),
    // then their expired tokens, and so the purge never waits.
    return db.transaction(async (em) => {
      const owners = await db.rows(`select distinct "user_id" from ${tokens} where "expires_at" < ? limit ?`, [before, Math.min(batch, 10_000)], em);
      if (owners.length === 0) return 0;
      const ownerKeys = padded(owners.map((r) => uuidToHex(String(r.user_id))));
      const held = await db.rows(`select "id" from ${users} where "id" in (${marks(ownerKeys)}) order by "id" for update skip locked`, ownerKeys, em);
      if (held.length === 0) return 0;
      const heldKeys = padded(held.map((r) => uuidToHex(String(r.id))));
      const rows = await db.rows(
        `select "id" from ${tokens} where "expires_at" < ? and "user_id" in (${marks(heldKeys)}) limit ? for update skip locked`,
        [before, ...heldKeys, batch],
        em,
      );
      if (rows.length === 0) return 0;
      // In chunks: a prepared statement takes at most 65,535 values.
      let deleted = 0;
      for (let start = 0; start < rows.length; start += 8192) {
        const ids = padded(rows.slice(start, start + 8192).map((r) => uuidToHex(String(r.id))));
        deleted += await db.affected(`delete from ${tokens} where "id" in (${marks(ids)})`, ids, em);
      }
      return deleted;
    });
  },

  revokeUnlisted: (db, em, grants, permissions, roleKey, keep) => revokeUnlisted(db, em, grants, permissions, roleKey, keep, uuidToHex),
};

export type { Row };
