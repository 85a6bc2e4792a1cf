import { createHash, randomBytes } from 'node:crypto';
import {
  DriverException,
  ForeignKeyConstraintViolationException,
  UniqueConstraintViolationException,
  type EntityManager,
  type EntityProperty,
} from '@mikro-orm/core';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { uuidv7 } from 'uuidv7';
import { definitionOf } from '../build-schema.js';
import { dialectOf, unsupportedOn } from '../dialects.js';
import { metadataByClassName } from '../orm-compat.js';
import { FullauthConfigError } from '../errors.js';
import { applicationId } from '../ids.js';
import { RESERVED_USER_PROPERTIES } from '../options.js';
import type { FullauthIdStrategy } from '../ids.js';
import type { FullauthEntityName } from '../spec.js';
import {
  ConflictError,
  DuplicateEmailError,
  DuplicatePasskeyError,
  FullauthStoreError,
  ExpiredRefreshTokenError,
  GroupNotIncludedError,
  InvalidRefreshTokenError,
  LastLoginMethodError,
  NotFoundError,
  PasskeySignCountError,
  RefreshTokenReuseError,
} from './errors.js';
import type {
  IssuedRefreshToken,
  OAuthAccountRecord,
  PasskeyRecord,
  RoleSyncResult,
  SessionRecord,
  UserRecord,
} from './records.js';

type Row = Record<string, unknown>;

/** Column sizes of the contract: captured values are cut to them. */
const USER_AGENT_MAX = 512;
const IP_ADDRESS_MAX = 45;

export interface FullauthStoreOptions {
  /** The clock, for tests. Default `() => new Date()`. */
  now?: () => Date;
}

export interface IssueTokenOptions {
  /** Lifetime in seconds (default 30 days), or an explicit expiry. */
  expiresIn?: number;
  expiresAt?: Date;
  /** Continue a login session; a new family is started when omitted. */
  familyId?: string;
  userAgent?: string | null;
  ipAddress?: string | null;
}

export const normalizeEmail = (email: string): string => email.trim().toLowerCase();
/** The sha256 hex digest of a refresh token: what the table stores. */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex');
const cut = (value: string | null | undefined, max: number): string | null => (value == null ? null : value.slice(0, max));

/**
 * The auth data layer over the fullauth tables. Every operation is one short transaction
 * (or a single statement), safe under concurrency: unique indexes and compare-and-set
 * updates decide races in the database, never in application memory.
 */
export class FullauthStore {
  readonly #em: SqlEntityManager;
  readonly #now: () => Date;
  readonly #tables: Partial<Record<FullauthEntityName, string>>;
  readonly #idStrategy: FullauthIdStrategy;
  /** The host's own user properties (user.properties), by property name. */
  readonly #userExtras: ReadonlyMap<string, EntityProperty>;
  /** The unique index on the e-mail, to tell a taken e-mail from another clash. */
  readonly #emailIndex: string;

  constructor(em: EntityManager, options: FullauthStoreOptions = {}) {
    // Its statements are PostgreSQL's (single-statement rotation, ON CONFLICT, row locks).
    const dialect = dialectOf(em.getDriver().getPlatform());
    if (dialect !== 'postgresql') throw unsupportedOn(dialect, 'The auth store (createFullauthStore)', ['postgresql']);
    this.#em = em as unknown as SqlEntityManager;
    this.#now = options.now ?? (() => new Date());
    const metadata = em.getMetadata();
    const tables: Partial<Record<FullauthEntityName, string>> = {};
    let strategy: FullauthIdStrategy | undefined;
    for (const meta of metadata) {
      const definition = definitionOf(meta.class);
      if (!definition) continue;
      strategy = definition.idStrategy;
      const quote = (id: string) => `"${id.replace(/"/g, '""')}"`;
      tables[meta.className as FullauthEntityName] = `${meta.schema ? `${quote(meta.schema)}.` : ''}${quote(meta.tableName)}`;
    }
    if (!strategy) throw new FullauthConfigError('createFullauthStore(): this EntityManager has no fullauth entities.');
    const userMeta = metadataByClassName(metadata, 'FullauthUser');
    const extras = new Map<string, EntityProperty>();
    for (const prop of userMeta?.props ?? []) {
      if (!RESERVED_USER_PROPERTIES.includes(prop.name) && prop.fieldNames?.length === 1) extras.set(prop.name, prop);
    }
    this.#userExtras = extras;
    this.#emailIndex = definitionOf(userMeta?.class)!.naming.index(userMeta!.tableName, 'email');
    this.#tables = tables;
    this.#idStrategy = strategy;
  }

  #table(entity: FullauthEntityName, group: string): string {
    const table = this.#tables[entity];
    if (!table) throw new GroupNotIncludedError(group);
    return table;
  }
  get #users() {
    return this.#table('FullauthUser', 'base');
  }
  get #tokens() {
    return this.#table('FullauthRefreshToken', 'base');
  }

  /** An id that cannot exist fails before the database sees it (a failed statement would abort the caller's transaction). */
  #checkId(id: string, what = 'user'): void {
    const valid = this.#idStrategy === 'bigint' ? /^\d{1,19}$/ : /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
    if (typeof id !== 'string' || !valid.test(id)) throw new NotFoundError(`No ${what} with id ${String(id)} (not a valid id).`);
  }

  /** `id` column and value for an insert: none when the database makes the id. */
  #id(): { column: string; value: string; params: unknown[] } {
    const id = applicationId(this.#idStrategy);
    return id === undefined ? { column: '', value: '', params: [] } : { column: '"id", ', value: '?, ', params: [id] };
  }

  /**
   * Inside the caller's transaction (the EntityManager given to the store, or one of the
   * store's own), statements run in it. Otherwise they go straight to the driver: no
   * EntityManager fork, as the store keeps no identity map, so a lookup is one pooled query.
   */
  async #execute(sql: string, params: unknown[], method: 'all' | 'run', em?: SqlEntityManager): Promise<unknown> {
    const context = em ?? (this.#em.isInTransaction() ? this.#em : undefined);
    try {
      return await (context ? context.execute(sql, params, method) : this.#em.getDriver().execute(sql, params, method));
    } catch (error) {
      throw storeError(error);
    }
  }
  async #run<T = Row[]>(sql: string, params: unknown[] = [], em?: SqlEntityManager): Promise<T> {
    return (await this.#execute(sql, params, 'all', em)) as T;
  }
  async #affected(sql: string, params: unknown[], em?: SqlEntityManager): Promise<number> {
    const result = (await this.#execute(sql, params, 'run', em)) as { affectedRows?: number };
    return result.affectedRows ?? 0;
  }
  /** The store's own transaction, or the caller's when the store's EntityManager is in one. */
  #transaction<T>(fn: (em: SqlEntityManager) => Promise<T>): Promise<T> {
    if (this.#em.isInTransaction()) return fn(this.#em);
    return this.#em
      .fork()
      .transactional((em) => fn(em as unknown as SqlEntityManager))
      .catch((error: unknown) => {
        throw storeError(error);
      });
  }

  // ---- users ---------------------------------------------------------------------------

  /**
   * Creates a user; the e-mail is trimmed and lower-cased. A taken e-mail is a
   * `DuplicateEmailError`, also in a race. `extra` sets the host's own user properties
   * (`user.properties` of `defineFullauthEntities()`), by property name; a relation takes the id.
   */
  async createUser(data: {
    email: string;
    hashedPassword?: string | null;
    isActive?: boolean;
    isVerified?: boolean;
    isSuperuser?: boolean;
    extra?: Readonly<Record<string, unknown>>;
  }): Promise<UserRecord> {
    const email = normalizeEmail(data.email);
    const id = this.#id();
    const platform = this.#em.getPlatform();
    const extras = Object.entries(data.extra ?? {}).map(([property, value]) => {
      const prop = this.#userExtras.get(property);
      if (!prop) {
        throw new FullauthStoreError(
          `createUser(): '${property}' is not a host property of the user. Host properties: ${[...this.#userExtras.keys()].join(', ') || 'none'}.`,
        );
      }
      // The property's own type converts the value (arrays, JSON, custom types), as the ORM would.
      const converted = prop.customType ? prop.customType.convertToDatabaseValue(value, platform, { mode: 'query' }) : value;
      return { column: prop.fieldNames[0]!, value: converted };
    });
    const extraColumns = extras.map((e) => `, "${e.column}"`).join('');
    try {
      const [row] = await this.#run(
        `insert into ${this.#users} (${id.column}"email", "hashed_password", "is_active", "is_verified", "is_superuser", "created_at"${extraColumns})
         values (${id.value}?, ?, ?, ?, ?, ?${extras.map(() => ', ?').join('')}) returning *`,
        [
          ...id.params,
          email,
          data.hashedPassword ?? null,
          data.isActive ?? true,
          data.isVerified ?? false,
          data.isSuperuser ?? false,
          this.#now(),
          ...extras.map((e) => e.value),
        ],
      );
      return toUser(row!);
    } catch (error) {
      if (error instanceof ConflictError && error.message.includes(`"${this.#emailIndex}"`)) throw new DuplicateEmailError(email);
      throw error;
    }
  }

  async findUserByEmail(email: string): Promise<UserRecord | null> {
    const [row] = await this.#run(`select * from ${this.#users} where "email" = ?`, [normalizeEmail(email)]);
    return row ? toUser(row) : null;
  }

  async findUserById(id: string): Promise<UserRecord | null> {
    try {
      this.#checkId(id);
    } catch {
      return null; // an id that cannot exist
    }
    const [row] = await this.#run(`select * from ${this.#users} where "id" = ?`, [id]);
    return row ? toUser(row) : null;
  }

  /** Sets a new password hash and revokes every refresh token of the user, in one transaction. */
  async changePassword(userId: string, hashedPassword: string): Promise<void> {
    this.#checkId(userId);
    await this.#transaction(async (em) => {
      const changed = await this.#affected(`update ${this.#users} set "hashed_password" = ? where "id" = ?`, [hashedPassword, userId], em);
      if (changed === 0) throw new NotFoundError(`No user with id ${userId}.`);
      await this.#affected(`update ${this.#tokens} set "revoked" = true where "user_id" = ? and "revoked" = false`, [userId], em);
    });
  }

  /** Deletes the user; the database cascades to tokens, roles, accounts and passkeys. */
  async deleteUser(userId: string): Promise<boolean> {
    this.#checkId(userId);
    return (await this.#affected(`delete from ${this.#users} where "id" = ?`, [userId])) > 0;
  }

  // ---- refresh tokens ------------------------------------------------------------------

  /** Issues a refresh token: the opaque value is returned once; only its sha256 digest is stored. */
  async issueRefreshToken(userId: string, options: IssueTokenOptions = {}): Promise<IssuedRefreshToken> {
    this.#checkId(userId);
    const token = randomBytes(32).toString('base64url');
    const familyId = options.familyId ?? uuidv7();
    const now = this.#now();
    const expiresAt = options.expiresAt ?? new Date(now.getTime() + (options.expiresIn ?? 30 * 24 * 3600) * 1000);
    const id = this.#id();
    const [row] = await this.#run(
      `insert into ${this.#tokens} (${id.column}"token", "user_id", "family_id", "expires_at", "revoked", "user_agent", "ip_address", "created_at")
       values (${id.value}?, ?, ?, ?, false, ?, ?, ?) returning "id"`,
      [...id.params, tokenDigest(token), userId, familyId, expiresAt, cut(options.userAgent, USER_AGENT_MAX), cut(options.ipAddress, IP_ADDRESS_MAX), now],
    );
    return { token, id: String(row!.id), userId: String(userId), familyId, expiresAt };
  }

  /**
   * Rotates a refresh token: exactly one caller can spend it (a compare-and-set on
   * `revoked`); the winner gets a new token in the same family. A spent or raced token
   * revokes the whole family and raises `RefreshTokenReuseError`.
   */
  async rotateRefreshToken(token: string, options: Omit<IssueTokenOptions, 'familyId'> = {}): Promise<IssuedRefreshToken> {
    if (this.#em.isInTransaction()) {
      // A detected reuse revokes the family and raises: inside the caller's transaction that
      // raise would roll the revocation back, so rotation always commits on its own.
      throw new FullauthStoreError(
        'rotateRefreshToken() runs on its own: call it on a store outside a transaction, so that a detected reuse stays revoked.',
      );
    }
    const digest = tokenDigest(token);
    const [row] = await this.#run(
      `select "user_id", "family_id", "expires_at", "revoked" from ${this.#tokens} where "token" = ?`,
      [digest],
    );
    if (!row) throw new InvalidRefreshTokenError();
    const familyId = String(row.family_id);
    if (!row.revoked && new Date(row.expires_at as string) <= this.#now()) throw new ExpiredRefreshTokenError();
    // Spend and re-issue in one statement: the compare-and-set UPDATE and the INSERT of the
    // successor commit together or not at all, and only the caller whose UPDATE matched gets a row.
    const issued = row.revoked ? null : await this.#spendAndIssue(digest, options);
    if (issued) return issued;
    await this.revokeFamily(familyId);
    throw new RefreshTokenReuseError(familyId);
  }

  async #spendAndIssue(digest: string, options: Omit<IssueTokenOptions, 'familyId'>): Promise<IssuedRefreshToken | null> {
    const token = randomBytes(32).toString('base64url');
    const now = this.#now();
    const expiresAt = options.expiresAt ?? new Date(now.getTime() + (options.expiresIn ?? 30 * 24 * 3600) * 1000);
    const id = this.#id();
    const [row] = await this.#run(
      `with spent as (update ${this.#tokens} set "revoked" = true where "token" = ? and "revoked" = false returning "user_id", "family_id")
       insert into ${this.#tokens} (${id.column}"token", "user_id", "family_id", "expires_at", "revoked", "user_agent", "ip_address", "created_at")
       select ${id.value}?, "user_id", "family_id", ?, false, ?, ?, ? from spent returning "id", "user_id", "family_id"`,
      [digest, ...id.params, tokenDigest(token), expiresAt, cut(options.userAgent, USER_AGENT_MAX), cut(options.ipAddress, IP_ADDRESS_MAX), now],
    );
    return row ? { token, id: String(row.id), userId: String(row.user_id), familyId: String(row.family_id), expiresAt } : null;
  }

  /** Logout: revokes one login session. Returns how many tokens were revoked. */
  revokeFamily(familyId: string): Promise<number> {
    return this.#affected(`update ${this.#tokens} set "revoked" = true where "family_id" = ? and "revoked" = false`, [familyId]);
  }

  /** Revokes every token of a user (password change or reset, account deletion). */
  async revokeAllForUser(userId: string): Promise<number> {
    this.#checkId(userId);
    return this.#affected(`update ${this.#tokens} set "revoked" = true where "user_id" = ? and "revoked" = false`, [userId]);
  }

  /** "Log out everywhere else": revokes every token of a user outside one family. */
  async revokeAllExceptFamily(userId: string, familyId: string): Promise<number> {
    this.#checkId(userId);
    return this.#affected(
      `update ${this.#tokens} set "revoked" = true where "user_id" = ? and "family_id" <> ? and "revoked" = false`,
      [userId, familyId],
    );
  }

  /** The user's live sessions: families with at least one unrevoked, unexpired token. */
  async listSessions(userId: string): Promise<SessionRecord[]> {
    this.#checkId(userId);
    const rows = await this.#run(
      `select "family_id", min("created_at") as "started_at", max("created_at") as "last_used_at", max("expires_at") as "expires_at",
              (array_agg("user_agent" order by "created_at" desc))[1] as "user_agent",
              (array_agg("ip_address" order by "created_at" desc))[1] as "ip_address"
       from ${this.#tokens} where "user_id" = ? and "revoked" = false and "expires_at" > ?
       group by "family_id" order by max("created_at") desc`,
      [userId, this.#now()],
    );
    return rows.map((r) => ({
      familyId: String(r.family_id),
      startedAt: date(r.started_at)!,
      lastUsedAt: date(r.last_used_at)!,
      expiresAt: date(r.expires_at)!,
      userAgent: (r.user_agent as string | null) ?? null,
      ipAddress: (r.ip_address as string | null) ?? null,
    }));
  }

  /** Deletes expired tokens, `batchSize` rows per statement so locks stay short. Returns the count. */
  async purgeExpiredTokens(options: { batchSize?: number; before?: Date } = {}): Promise<number> {
    const batch = options.batchSize ?? 1000;
    const before = options.before ?? this.#now();
    let total = 0;
    for (;;) {
      const deleted = await this.#affected(
        `delete from ${this.#tokens} where "id" in (select "id" from ${this.#tokens} where "expires_at" < ? limit ?)`,
        [before, batch],
      );
      total += deleted;
      if (deleted < batch) return total;
    }
  }

  // ---- roles and permissions -----------------------------------------------------------

  async #ensureNamed(em: SqlEntityManager, table: string, name: string, extra: Record<string, unknown> = {}): Promise<{ id: string; created: boolean }> {
    const id = this.#id();
    const columns = Object.keys(extra).map((c) => `, "${c}"`).join('');
    const marks = Object.keys(extra).map(() => ', ?').join('');
    const inserted = await this.#run(
      `insert into ${table} (${id.column}"name"${columns}) values (${id.value}?${marks}) on conflict ("name") do nothing returning "id"`,
      [...id.params, name, ...Object.values(extra)],
      em,
    );
    if (inserted[0]) return { id: String(inserted[0].id), created: true };
    // A new statement sees the row a concurrent insert committed.
    const [row] = await this.#run(`select "id" from ${table} where "name" = ?`, [name], em);
    return { id: String(row!.id), created: false };
  }

  /** Gives a user a role, creating the role if it does not exist. Idempotent. */
  async assignRole(userId: string, roleName: string): Promise<void> {
    this.#table('FullauthUserRole', 'role');
    this.#checkId(userId);
    const roles = this.#table('FullauthRole', 'role');
    const userRoles = this.#table('FullauthUserRole', 'role');
    await this.#transaction(async (em) => {
      const role = await this.#ensureNamed(em, roles, roleName);
      await this.#run(`insert into ${userRoles} ("user_id", "role_id") values (?, ?) on conflict do nothing`, [userId, role.id], em);
    });
  }

  /** Takes a role from a user. Returns whether the user had it. */
  async removeRole(userId: string, roleName: string): Promise<boolean> {
    this.#table('FullauthUserRole', 'role');
    this.#checkId(userId);
    const roles = this.#table('FullauthRole', 'role');
    const userRoles = this.#table('FullauthUserRole', 'role');
    return (await this.#affected(
      `delete from ${userRoles} where "user_id" = ? and "role_id" = (select "id" from ${roles} where "name" = ?)`,
      [userId, roleName],
    )) > 0;
  }

  /** The names of a user's roles. */
  async listRoles(userId: string): Promise<string[]> {
    this.#table('FullauthUserRole', 'role');
    this.#checkId(userId);
    const roles = this.#table('FullauthRole', 'role');
    const userRoles = this.#table('FullauthUserRole', 'role');
    const rows = await this.#run(
      `select r."name" from ${roles} r join ${userRoles} ur on ur."role_id" = r."id" where ur."user_id" = ? order by r."name"`,
      [userId],
    );
    return rows.map((r) => String(r.name));
  }

  /** Grants a permission (`resource:action`) to a role, creating either if missing. Idempotent. */
  async grantPermission(roleName: string, permission: string, description = ''): Promise<void> {
    await this.#transaction((em) => this.#grant(em, roleName, permission, description).then(() => undefined));
  }

  async #grant(em: SqlEntityManager, roleName: string, permission: string, description = '') {
    const role = await this.#ensureNamed(em, this.#table('FullauthRole', 'role'), roleName);
    const perm = await this.#ensureNamed(em, this.#table('FullauthPermission', 'permission'), permission, { description });
    const granted = await this.#affected(
      `insert into ${this.#table('FullauthRolePermission', 'permission')} ("role_id", "permission_id") values (?, ?) on conflict do nothing`,
      [role.id, perm.id],
      em,
    );
    return { role, perm, granted: granted > 0 };
  }

  /** Revokes a permission from a role. Returns whether the role had it. */
  async revokePermission(roleName: string, permission: string): Promise<boolean> {
    return (await this.#affected(
      `delete from ${this.#table('FullauthRolePermission', 'permission')}
       where "role_id" = (select "id" from ${this.#table('FullauthRole', 'role')} where "name" = ?)
         and "permission_id" = (select "id" from ${this.#table('FullauthPermission', 'permission')} where "name" = ?)`,
      [roleName, permission],
    )) > 0;
  }

  /** Whether the user has the role (superusers have every role). One round trip. */
  async hasRole(userId: string, roleName: string): Promise<boolean> {
    this.#table('FullauthUserRole', 'role');
    this.#checkId(userId);
    const [row] = await this.#run(
      `select exists (select 1 from ${this.#users} u where u."id" = ? and (u."is_superuser" or exists (
         select 1 from ${this.#table('FullauthUserRole', 'role')} ur join ${this.#table('FullauthRole', 'role')} r on r."id" = ur."role_id"
         where ur."user_id" = u."id" and r."name" = ?))) as "ok"`,
      [userId, roleName],
    );
    return row?.ok === true;
  }

  /** Whether any of the user's roles grants the permission (superusers pass every check). One round trip. */
  async hasPermission(userId: string, permission: string): Promise<boolean> {
    this.#table('FullauthRolePermission', 'permission');
    this.#checkId(userId);
    const [row] = await this.#run(
      `select exists (select 1 from ${this.#users} u where u."id" = ? and (u."is_superuser" or exists (
         select 1 from ${this.#table('FullauthUserRole', 'role')} ur
         join ${this.#table('FullauthRolePermission', 'permission')} rp on rp."role_id" = ur."role_id"
         join ${this.#table('FullauthPermission', 'permission')} p on p."id" = rp."permission_id"
         where ur."user_id" = u."id" and p."name" = ?))) as "ok"`,
      [userId, permission],
    );
    return row?.ok === true;
  }

  /**
   * Makes the roles in `map` grant exactly the listed permissions, creating what is
   * missing and revoking grants not listed. Roles not in the map are left alone. Running it
   * again changes nothing.
   */
  async syncRoles(map: Readonly<Record<string, readonly string[]>>): Promise<RoleSyncResult> {
    const result: RoleSyncResult = { createdRoles: [], createdPermissions: [], granted: [], revoked: [] };
    const grants = this.#table('FullauthRolePermission', 'permission');
    const permissions = this.#table('FullauthPermission', 'permission');
    await this.#transaction(async (em) => {
      for (const [roleName, wanted] of Object.entries(map)) {
        const role = await this.#ensureNamed(em, this.#table('FullauthRole', 'role'), roleName);
        if (role.created) result.createdRoles.push(roleName);
        for (const permission of wanted) {
          const { perm, granted } = await this.#grant(em, roleName, permission);
          if (perm.created) result.createdPermissions.push(permission);
          if (granted) result.granted.push(`${roleName} → ${permission}`);
        }
        const keep = wanted.length ? `and p."name" not in (${wanted.map(() => '?').join(', ')})` : '';
        const removed = await this.#run(
          `delete from ${grants} rp using ${permissions} p
           where rp."permission_id" = p."id" and rp."role_id" = ? ${keep} returning p."name"`,
          [role.id, ...wanted],
          em,
        );
        for (const r of removed) result.revoked.push(`${roleName} → ${String(r.name)}`);
      }
    });
    return result;
  }

  // ---- OAuth -----------------------------------------------------------------------------

  /** Links a provider account to a user. Idempotent, also when two links race: the existing row is returned. */
  async linkOAuthAccount(data: {
    userId: string;
    provider: string;
    providerUserId: string;
    providerEmail?: string | null;
    accessToken?: string | null;
    refreshToken?: string | null;
    expiresAt?: Date | null;
  }): Promise<{ account: OAuthAccountRecord; created: boolean }> {
    const table = this.#table('FullauthOAuthAccount', 'oauth');
    this.#checkId(data.userId);
    const id = this.#id();
    const [inserted] = await this.#run(
      `insert into ${table} (${id.column}"provider", "provider_user_id", "user_id", "provider_email", "access_token", "refresh_token", "expires_at", "created_at")
       values (${id.value}?, ?, ?, ?, ?, ?, ?, ?) on conflict ("provider", "provider_user_id") do nothing returning *`,
      [...id.params, data.provider, data.providerUserId, data.userId, data.providerEmail ?? null, data.accessToken ?? null, data.refreshToken ?? null, data.expiresAt ?? null, this.#now()],
    );
    if (inserted) return { account: toOAuth(inserted), created: true };
    const existing = await this.findOAuthAccount(data.provider, data.providerUserId);
    return { account: existing!, created: false };
  }

  async findOAuthAccount(provider: string, providerUserId: string): Promise<OAuthAccountRecord | null> {
    const [row] = await this.#run(
      `select * from ${this.#table('FullauthOAuthAccount', 'oauth')} where "provider" = ? and "provider_user_id" = ?`,
      [provider, providerUserId],
    );
    return row ? toOAuth(row) : null;
  }

  /** Unlinks a provider from a user, refusing to remove the user's last way to log in. */
  async unlinkOAuthAccount(userId: string, provider: string): Promise<void> {
    this.#table('FullauthOAuthAccount', 'oauth');
    this.#checkId(userId);
    const accounts = this.#table('FullauthOAuthAccount', 'oauth');
    const passkeys = this.#tables.FullauthPasskey;
    await this.#transaction(async (em) => {
      // Locking the user serialises concurrent unlinks of the same user.
      const [user] = await this.#run(`select "hashed_password" from ${this.#users} where "id" = ? for update`, [userId], em);
      if (!user) throw new NotFoundError(`No user with id ${userId}.`);
      const [counts] = await this.#run(
        `select (select count(*) from ${accounts} where "user_id" = ?)::int as "accounts",
                (select count(*) from ${accounts} where "user_id" = ? and "provider" = ?)::int as "linked"
                ${passkeys ? `, (select count(*) from ${passkeys} where "user_id" = ?)::int as "passkeys"` : ''}`,
        passkeys ? [userId, userId, provider, userId] : [userId, userId, provider],
        em,
      );
      if (!counts || Number(counts.linked) === 0) throw new NotFoundError(`The user has no '${provider}' account.`);
      const methods = (user.hashed_password ? 1 : 0) + Number(counts.accounts) + Number(counts.passkeys ?? 0);
      if (methods - Number(counts.linked) < 1) throw new LastLoginMethodError();
      await this.#affected(`delete from ${accounts} where "user_id" = ? and "provider" = ?`, [userId, provider], em);
    });
  }

  // ---- passkeys --------------------------------------------------------------------------

  async registerPasskey(data: {
    userId: string;
    credentialId: string;
    publicKey: string;
    signCount?: number;
    deviceName?: string;
    transports?: readonly string[];
    backedUp?: boolean;
  }): Promise<PasskeyRecord> {
    this.#table('FullauthPasskey', 'passkey');
    this.#checkId(data.userId);
    const id = this.#id();
    const [row] = await this.#run(
      `insert into ${this.#table('FullauthPasskey', 'passkey')} (${id.column}"user_id", "credential_id", "public_key", "sign_count", "device_name", "transports", "backed_up", "created_at", "last_used_at")
       values (${id.value}?, ?, ?, ?, ?, ?, ?, ?, null) returning *`,
      [...id.params, data.userId, data.credentialId, data.publicKey, data.signCount ?? 0, data.deviceName ?? '', (data.transports ?? []).join(','), data.backedUp ?? false, this.#now()],
    ).catch((error: unknown) => {
      throw error instanceof ConflictError ? new DuplicatePasskeyError(data.credentialId) : error;
    });
    return toPasskey(row!);
  }

  async findPasskey(credentialId: string): Promise<PasskeyRecord | null> {
    const [row] = await this.#run(`select * from ${this.#table('FullauthPasskey', 'passkey')} where "credential_id" = ?`, [credentialId]);
    return row ? toPasskey(row) : null;
  }

  /**
   * Records a successful assertion. The sign count only grows (`WHERE sign_count < :new`);
   * a count that did not grow raises `PasskeySignCountError` (clone detection), except for
   * authenticators that do not count at all (both 0).
   */
  async recordPasskeyUse(credentialId: string, signCount: number): Promise<PasskeyRecord> {
    const table = this.#table('FullauthPasskey', 'passkey');
    const [row] = await this.#run(
      `update ${table} set "sign_count" = ?, "last_used_at" = ?
       where "credential_id" = ? and ("sign_count" < ? or ("sign_count" = 0 and ? = 0)) returning *`,
      [signCount, this.#now(), credentialId, signCount, signCount],
    );
    if (row) return toPasskey(row);
    const current = await this.findPasskey(credentialId);
    if (!current) throw new NotFoundError(`No passkey with credential id ${credentialId}.`);
    throw new PasskeySignCountError(credentialId, current.signCount, signCount);
  }
}

/**
 * Every failure of the store is a `FullauthStoreError`: a unique key → `ConflictError` (the
 * operations turn it into a precise one), a missing referenced row or an id that cannot
 * exist → `NotFoundError`, anything else (a lost connection, …) → `FullauthStoreError` with
 * the database error as its `cause`.
 */
function storeError(error: unknown): FullauthStoreError {
  if (error instanceof FullauthStoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof UniqueConstraintViolationException) return new ConflictError(message, { cause: error });
  if (error instanceof ForeignKeyConstraintViolationException) {
    return new NotFoundError(`A record this operation refers to does not exist (${message}).`, { cause: error });
  }
  // invalid_text_representation: a value of the wrong type (ids are checked before this).
  if (error instanceof DriverException && error.code === '22P02') {
    return new FullauthStoreError(`A value has the wrong type for its column (${message}).`, { cause: error });
  }
  return new FullauthStoreError(`The database refused a fullauth store operation: ${message}`, { cause: error });
}

/** The store over an EntityManager whose ORM includes the fullauth entities. */
export function createFullauthStore(em: EntityManager, options?: FullauthStoreOptions): FullauthStore {
  return new FullauthStore(em, options);
}

const date = (value: unknown): Date | null => (value == null ? null : value instanceof Date ? value : new Date(String(value)));

function toUser(r: Row): UserRecord {
  return {
    id: String(r.id),
    email: String(r.email),
    hashedPassword: (r.hashed_password as string | null) ?? null,
    isActive: r.is_active === true,
    isVerified: r.is_verified === true,
    isSuperuser: r.is_superuser === true,
    createdAt: date(r.created_at)!,
  };
}

function toOAuth(r: Row): OAuthAccountRecord {
  return {
    id: String(r.id),
    provider: String(r.provider),
    providerUserId: String(r.provider_user_id),
    userId: String(r.user_id),
    providerEmail: (r.provider_email as string | null) ?? null,
    accessToken: (r.access_token as string | null) ?? null,
    refreshToken: (r.refresh_token as string | null) ?? null,
    expiresAt: date(r.expires_at),
    createdAt: date(r.created_at)!,
  };
}

function toPasskey(r: Row): PasskeyRecord {
  return {
    id: String(r.id),
    userId: String(r.user_id),
    credentialId: String(r.credential_id),
    publicKey: String(r.public_key),
    signCount: Number(r.sign_count),
    deviceName: String(r.device_name),
    transports: String(r.transports),
    backedUp: r.backed_up === true,
    createdAt: date(r.created_at)!,
    lastUsedAt: date(r.last_used_at),
  };
}
