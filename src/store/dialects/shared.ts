// Statements written once for the databases without PostgreSQL's extras (array_agg … filter,
// DELETE … USING … RETURNING): MySQL/MariaDB and SQLite.
import { marks, padded, type Context, type Db, type Row, type TokenTables } from './dialect.js';

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
