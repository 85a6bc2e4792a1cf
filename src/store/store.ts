import {
  ForeignKeyConstraintViolationException,
  type EntityManager,
  type EntityProperty,
  type Platform,
} from '@mikro-orm/core';
import { definitionOf } from '../build-schema.js';
import { dialectOf } from '../dialects.js';
import { metadataByClassName, type BoundResult } from '../orm-compat.js';
import { FullauthConfigError } from '../errors.js';
import { applicationId } from '../ids.js';
import { RESERVED_USER_PROPERTIES } from '../options.js';
import { quoteIdentifier } from '../sql/identifiers.js';
import { jsonObject, pythonTruthy, type AccessTokenClaims, type FastapiFullauthTokens } from '../tokens/jwt.js';
import { InvalidTokenError } from '../tokens/errors.js';
import { jwtRefreshTokens, opaqueRefreshTokens, tokenDigest, type RefreshTokenFormat } from '../tokens/format.js';
import type { FullauthIdStrategy } from '../ids.js';
import type { FullauthEntityName } from '../spec.js';
import * as check from './arguments.js';
import { LIMITS, INT4_MAX, checkHostValue, checkRoleMap, checkTransports } from './arguments.js';
import { storeError } from './database-errors.js';
import { storeDialect, type Context, type Db, type Row, type StoreDialect, type TokenTables, type TokenValues } from './dialects/index.js';
import { andThen, type Inserted, type MaybePromise, type Statement } from './dialects/dialect.js';
import { normalizeEmail } from './email.js';
import {
  ConflictError,
  DuplicateEmailError,
  DuplicatePasskeyError,
  FullauthStoreError,
  ExpiredRefreshTokenError,
  ForeignFamilyError,
  GroupNotIncludedError,
  InactiveUserError,
  InvalidArgumentError,
  InvalidRefreshTokenError,
  LastLoginMethodError,
  NotFoundError,
  PasskeySignCountError,
  RefreshTokenReuseError,
  RetryableStoreError,
  RevokedFamilyError,
  UserReferencedError,
  UnstorableTextError,
  ValueTooLongError,
} from './errors.js';
import { date, OAUTH_COLUMNS, oauthRecords, PASSKEY_COLUMNS, passkeyRecords, toOAuth, toPasskey, toUser, USER_COLUMNS, userRecords } from './rows.js';
import type { IssuedRefreshToken, OAuthAccountRecord, PasskeyRecord, RoleSyncResult, SessionRecord, UserRecord } from './records.js';

export { normalizeEmail };


/**
 * A text that its column's character set cannot hold (`UnstorableTextError`) is in no row: a
 * lookup or removal by it finds nothing. Other failures go on.
 */
function absentIfUnstorable<T>(absent: T): (error: unknown) => T {
  return (error) => {
    if (error instanceof UnstorableTextError) return absent;
    throw error;
  };
}
const nullIfUnstorable = absentIfUnstorable(null);
const falseIfUnstorable = absentIfUnstorable(false);

/** The isolation level of a caller's transaction, by its transaction object (PostgreSQL). */
const ISOLATION = new WeakMap<object, string>();

/** A failure as the store's typed error (one function, not a closure per call). */
const rethrowAsStoreError = (error: unknown): never => {
  throw storeError(error);
};
/** Rotation's read of a token (`tokenByDigest`): its select list, in order. */
const TOKEN_COLUMNS = ['user_id', 'family_id', 'expires_at', 'revoked', 'is_active'] as const;

/**
 * `fn(value)` as a promise: at once where the value is there already (node:sqlite), else when
 * it resolves. A throw becomes a rejection, as in an async function: the store's reads are
 * written this way rather than as async functions awaiting async helpers, which at SQLite's
 * speed (a read in 4 µs) cost a fifth of the call.
 */
const nothing = (): void => undefined;
const affectedOf = (result: BoundResult): number => result.affected;

/**
 * `run` of the arguments `check` returns; an argument `check` refuses is a rejected promise,
 * as from an `async` method (for the methods written without `async`, see `andThen()`).
 */
function checked<A, R>(check: () => A, run: (args: A) => Promise<R>): Promise<R> {
  let args: A;
  try {
    args = check();
  } catch (error) {
    return Promise.reject(error);
  }
  return run(args);
}

/** A role or permission found or made by `#ensureNamed()`: its key as its column stores it, and whether this call made it. */
interface Named {
  key: unknown;
  created: boolean;
}

function settle<V, T>(value: V | Promise<V>, fn: (value: V) => T): Promise<T> {
  if (value instanceof Promise) return value.then(fn);
  try {
    return Promise.resolve(fn(value));
  } catch (error) {
    return Promise.reject(error);
  }
}

/** A token lifetime beyond this (100 years) is a mistake, not a policy. */
const MAX_LIFETIME_SECONDS = 100 * 365 * 24 * 3600;
const MAX_PURGE_BATCH = 100_000;

export interface FullauthStoreOptions {
  /** The clock, for tests. Default `() => new Date()`. */
  now?: () => Date;
  /**
   * Refresh tokens in fastapi-fullauth's format (`fastapiFullauthTokens({ secretKey, … })`):
   * JWTs that a Python service on the same database refreshes, and new families as
   * `uuid4().hex`. Default: opaque random tokens, for a service that shares with no one.
   */
  tokens?: FastapiFullauthTokens;
  /**
   * SQLite: how long (milliseconds) a write waits while another connection (or process) holds
   * the database's write lock, before a `RetryableStoreError`. The store waits without
   * blocking the event loop. Default 5000 (fastapi-fullauth's SQLite connections wait 5 s).
   */
  busyTimeout?: number;
}

export interface IssueTokenOptions {
  /** Lifetime in seconds (default 30 days), or an explicit expiry. */
  expiresIn?: number;
  expiresAt?: Date;
  /** Continue a login session of the same user; a new family is started when omitted. */
  familyId?: string;
  /** Captured request data: cut to the column's size (512 and 45 characters). */
  userAgent?: string | null;
  ipAddress?: string | null;
}
/** The id of a new row: made here (`id`, with its column and bound value) or by the database. */
interface NewId {
  id: string | undefined;
  column: string;
  value: string;
  params: unknown[];
}

const ISSUE_KEYS = ['expiresIn', 'expiresAt', 'familyId', 'userAgent', 'ipAddress'] as const;
const ROTATE_KEYS = ['expiresIn', 'expiresAt', 'userAgent', 'ipAddress'] as const;

export { tokenDigest };

/**
 * The auth data layer over the fullauth tables, on PostgreSQL, MySQL/MariaDB and SQLite (what
 * differs per database is in ./dialects/, one module each). Every value reaches the database
 * as a bound parameter, every argument is checked before any SQL, and every race is decided
 * in the database:
 * - unique indexes and compare-and-set updates (sign-up, rotation, OAuth links, passkeys);
 * - the user's row as the lock of their tokens: issuing and rotating take it shared, every
 *   revocation (logout, log out everywhere, password change, deactivation, a detected reuse,
 *   deletion) takes it exclusively before it revokes. A revocation therefore waits for the
 *   rotations under way and then sees their successors, and a rotation that comes after it
 *   finds its token revoked: every outcome is one that some serial order would give;
 * - one change of the role/permission map at a time (PostgreSQL: a transaction-level advisory
 *   lock; MySQL: GET_LOCK; SQLite: the write lock).
 */
export class FullauthStore {
  readonly #em: EntityManager;
  readonly #now: () => Date;
  readonly #tokenFormat: RefreshTokenFormat;
  readonly #jwt: FastapiFullauthTokens | undefined;
  readonly #tables: Partial<Record<FullauthEntityName, string>>;
  readonly #idStrategy: FullauthIdStrategy;
  readonly #platform: Platform;
  /** The host's own user properties (user.properties), by property name. */
  readonly #userExtras: ReadonlyMap<string, EntityProperty>;
  /** The unique index on the e-mail, to tell a taken e-mail from another clash. */
  readonly #emailIndex: string;
  /** The users table's own (unquoted) name, for the unique-key errors that name a column. */
  readonly #usersName: string;
  /** The name of the lock that serialises changes of the role/permission map of these tables. */
  readonly #roleMapLock: string;
  /** What differs per database (./dialects/). */
  readonly #d: StoreDialect;
  /** How the dialect's procedures run statements (the store's own #rows, #affected, #transaction). */
  readonly #db: Db;
  /** The connection (MikroORM's, for writes) and where statements outside a transaction run: made once, not per call. */
  readonly #connection: unknown;
  readonly #pool: Context;
  /** This store's statements by name, each built on first use (see `#sql`). */
  readonly #statements = new Map<string, Statement>();
  /** The statements of `#ensureNamed()` and `assignRole()`, built on first use. */
  #roleStatements: { byName: Statement; insert: string } | undefined;
  #permissionStatements: { byName: Statement; insert: string } | undefined;
  #userRoleStatements: { insert: string; held: Statement } | undefined;
  /** The token tables, one object for the dialect's procedures to keep their statements by. */
  #tokenTables: TokenTables | undefined;
  /** A user row straight from the driver → `UserRecord`, with the dialect's column readers (one pass, no in-place conversion first). */
  readonly #userRecord: (row: Row) => UserRecord;
  /** The same for rows as arrays of `USER_COLUMNS` (`#userColumns`). */
  readonly #userValues: (row: readonly unknown[]) => UserRecord;
  /** A passkey row straight from the driver, by name or (rows as arrays of `PASSKEY_COLUMNS`) by position → `PasskeyRecord`. */
  readonly #passkeyRecord: (row: Row) => PasskeyRecord;
  readonly #passkeyValues: (row: readonly unknown[]) => PasskeyRecord;
  /** An OAuth account row straight from the driver as an array of `OAUTH_COLUMNS` → `OAuthAccountRecord`. */
  readonly #oauthValues: (row: readonly unknown[]) => OAuthAccountRecord;
  /** A driver's boolean (`exists …` answers) as the dialect stores it. */
  readonly #flag: (value: unknown) => boolean;

  constructor(em: EntityManager, options: FullauthStoreOptions = {}) {
    const { now, tokens, busyTimeout } = check.options('createFullauthStore() options', options, ['now', 'tokens', 'busyTimeout']);
    if (now !== undefined && typeof now !== 'function') throw new InvalidArgumentError('options.now', 'must be a function returning a Date');
    if (tokens !== undefined && (typeof tokens !== 'object' || tokens === null || typeof tokens.verifyRefreshToken !== 'function')) {
      throw new InvalidArgumentError('options.tokens', 'must be made by fastapiFullauthTokens({ secretKey, … })');
    }
    this.#tokenFormat = tokens ? jwtRefreshTokens(tokens) : opaqueRefreshTokens;
    this.#jwt = tokens;
    const dialect = dialectOf(em.getDriver().getPlatform());
    this.#d = storeDialect(dialect, { busyTimeout: busyTimeout === undefined ? 5000 : check.integer('options.busyTimeout', busyTimeout, 0, 3_600_000) });
    this.#userRecord = userRecords(this.#d.columns);
    this.#userValues = userRecords(this.#d.columns, USER_COLUMNS.byPosition);
    this.#passkeyRecord = passkeyRecords(this.#d.columns);
    this.#passkeyValues = passkeyRecords(this.#d.columns, PASSKEY_COLUMNS.byPosition);
    this.#oauthValues = oauthRecords(this.#d.columns, OAUTH_COLUMNS.byPosition);
    this.#flag = this.#d.columns.flag;
    this.#db = {
      rows: (sql, params, context) => this.#rows(sql, params, context),
      affected: (sql, params, context) => this.#affected(sql, params, context),
      result: (sql, params, context, arrays) => this.#result(sql, params, context, arrays),
      transaction: (fn) => this.#transaction(fn),
    };
    this.#em = em;
    this.#platform = em.getPlatform();
    this.#connection = em.getConnection();
    this.#pool = { connection: this.#connection, transaction: undefined, platform: this.#platform };
    this.#now = now ? () => check.date('options.now()', now()) : () => new Date();
    const metadata = em.getMetadata();
    const tables: Partial<Record<FullauthEntityName, string>> = {};
    let strategy: FullauthIdStrategy | undefined;
    const quote = (name: string) => quoteIdentifier(dialect, name);
    for (const meta of metadata) {
      const definition = definitionOf(meta.class);
      if (!definition) continue;
      strategy = definition.idStrategy;
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
    this.#usersName = userMeta!.tableName;
    this.#tables = tables;
    this.#idStrategy = strategy;
    this.#roleMapLock = `mikro-orm-fullauth:role-map:${tables.FullauthRole ?? ''}`;
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
  get #tt(): TokenTables {
    return (this.#tokenTables ??= { users: this.#users, tokens: this.#tokens });
  }

  /**
   * The statement `name` of this store, built by `build` on its first use only (its text names
   * this store's tables, so it is made once per store) and prepared for the database, so that
   * no call builds, numbers or looks up its SQL text. A name is one fixed text per store.
   */
  #sql(name: string, build: () => string): Statement {
    let statement = this.#statements.get(name);
    if (statement === undefined) {
      const sql = build();
      const prepare = this.#d.prepare;
      this.#statements.set(name, (statement = { sql, text: prepare === undefined ? sql : prepare(sql) }));
    }
    return statement;
  }

  #userId(value: unknown, argument = 'userId'): string {
    return check.id(argument, value, this.#idStrategy);
  }

  /** `id` column and value for an insert: none when the database makes the id. */
  #id(): NewId {
    const id = applicationId(this.#idStrategy);
    return id === undefined ? { id, column: '', value: '', params: [] } : { id, column: '"id", ', value: '?, ', params: [this.#d.key(id)] };
  }

  /** A key as its column stores it (uuid or hex, per database). */
  #k(id: string): unknown {
    return this.#d.key(id);
  }

  /**
   * One statement, its values bound. Inside the caller's transaction (the EntityManager given
   * to the store) or one of the store's own (`em`), it joins it; otherwise it runs on the pool:
   * no EntityManager fork, as the store keeps no identity map.
   */
  #execute(sql: string | Statement, params: readonly unknown[], em: Context | undefined, arrays?: boolean): BoundResult | Promise<BoundResult> {
    const session = em ?? this.#session();
    return typeof sql === 'string' ? this.#d.execute(session, sql, params, undefined, arrays) : this.#d.execute(session, sql.sql, params, sql.text, arrays);
  }
  async #rows(sql: string | Statement, params: readonly unknown[] = [], em?: Context): Promise<Row[]> {
    let rows: Row[];
    try {
      // A result that is there already (node:sqlite) is not awaited: no extra turn per statement.
      const result = this.#execute(sql, params, em);
      ({ rows } = result instanceof Promise ? await result : result);
    } catch (error) {
      throw storeError(error);
    }
    const convert = this.#d.row;
    // In the driver's own array (a new one per statement), without another array per call.
    if (convert !== undefined) for (let i = 0; i < rows.length; i++) rows[i] = convert(rows[i]!);
    return rows;
  }
  /**
   * `#rows()` without the dialect's conversion of each row (the caller reads the driver's row
   * with `#d.columns`), the result itself where the statement ran at once (node:sqlite), and
   * with `arrays` its rows possibly as arrays of the select list (`values`, see
   * `StoreDialect.execute`). Errors are thrown or rejected as the store's typed errors, as
   * `#rows()` throws them. The store's `Db.result`.
   */
  #result(sql: string | Statement, params: readonly unknown[], em?: Context, arrays?: boolean): BoundResult | Promise<BoundResult> {
    let result: BoundResult | Promise<BoundResult>;
    try {
      result = this.#execute(sql, params, em, arrays);
    } catch (error) {
      throw storeError(error);
    }
    return result instanceof Promise ? result.catch(rethrowAsStoreError) : result;
  }
  /** The first row as a user record, or null. */
  readonly #firstUser = ({ rows, values }: BoundResult): UserRecord | null => {
    if (values !== undefined) return values.length === 0 ? null : this.#userValues(values[0]!);
    return rows.length === 0 ? null : this.#userRecord(rows[0]!);
  };
  /** One of the checks' `select exists (…) as "ok"`: whether its answer is true. */
  #check(statement: Statement, params: readonly unknown[]): Promise<boolean> {
    const result = this.#result(statement, params, undefined, true);
    return result instanceof Promise ? result.then(this.#firstOk, falseIfUnstorable) : settle(result, this.#firstOk);
  }
  /** Whether the first row's `ok` (its only column) is true. */
  readonly #firstOk = ({ rows, values }: BoundResult): boolean =>
    values !== undefined ? values.length !== 0 && this.#flag(values[0]![0]) : rows.length !== 0 && this.#flag(rows[0]!.ok);

  async #affected(sql: string | Statement, params: readonly unknown[], em?: Context): Promise<number> {
    try {
      const result = this.#execute(sql, params, em);
      return (result instanceof Promise ? await result : result).affected;
    } catch (error) {
      throw storeError(error);
    }
  }
  /** The session of the store's EntityManager: its transaction when it is in one, else the pool. */
  #session(): Context {
    const transaction: unknown = this.#em.getTransactionContext();
    return transaction ? { connection: this.#connection, transaction, platform: this.#platform } : this.#pool;
  }
  /**
   * The caller's transaction when the store's EntityManager is in one; otherwise a short one
   * of the store's own, on the connection (no EntityManager fork: the store keeps no identity map).
   */
  #transaction<T>(fn: (em: Context) => MaybePromise<T>): Promise<T> {
    const session = this.#session();
    let result: MaybePromise<T>;
    try {
      result = session.transaction ? fn(session) : this.#d.transaction(session, fn);
    } catch (error) {
      return Promise.reject(session.transaction ? error : storeError(error));
    }
    if (!(result instanceof Promise)) return Promise.resolve(result);
    return session.transaction ? result : result.catch(rethrowAsStoreError);
  }

  /**
   * `#transaction()` for an operation that revokes tokens. In a caller's transaction above READ
   * COMMITTED on PostgreSQL it is refused before anything is written: its UPDATE sees only the
   * transaction's snapshot, so a token another request issued after it began would stay live
   * after the revocation returned.
   */
  #revocation<T>(operation: string, fn: (em: Context) => MaybePromise<T>): Promise<T> {
    const transaction: unknown = this.#em.getTransactionContext();
    if (!transaction || !this.#d.snapshotWrites) return this.#transaction(fn);
    return this.#isolation(transaction as object).then((level) => {
      // PostgreSQL runs READ UNCOMMITTED as READ COMMITTED: a statement sees what committed before it.
      if (level !== 'read committed' && level !== 'read uncommitted') {
        throw new FullauthStoreError(
          `${operation}() cannot run in this ${level.toUpperCase()} transaction: its snapshot hides tokens issued after it began, which would stay live. ` +
            'Call it outside a transaction, or in a READ COMMITTED one (PostgreSQL\'s default). Nothing was written.',
        );
      }
      return this.#transaction(fn);
    });
  }
  /** The isolation level of a caller's transaction (PostgreSQL), asked once per transaction. */
  #isolation(transaction: object): Promise<string> {
    const known = ISOLATION.get(transaction);
    if (known !== undefined) return Promise.resolve(known);
    return this.#rows(this.#sql('isolation', () => `select current_setting('transaction_isolation') as "level"`), [], this.#session()).then(([row]) => {
      const level = String(row?.level);
      ISOLATION.set(transaction, level);
      return level;
    });
  }

  /**
   * Takes the user's row exclusively (PostgreSQL: `FOR NO KEY UPDATE`, inserts that reference
   * the user still pass) until the transaction ends. The statements after it see every
   * rotation that held the row before, and no rotation or issue proceeds until the revocation commits.
   */
  #lockUser(em: Context, userId: string): MaybePromise<{ isActive: boolean } | null> {
    return andThen(
      this.#activeOf(this.#sql('lockUser', () => `select "is_active" from ${this.#users} where "id" = ? ${this.#d.lockForRevocation}`), [this.#k(userId)], em),
      ([isActive]) => (isActive === undefined ? null : { isActive }),
    );
  }

  /** Each row's `is_active` of a read whose only column it is (the revocations' locking reads), from the driver's rows. */
  #activeOf(sql: Statement, params: readonly unknown[], em: Context): MaybePromise<boolean[]> {
    return andThen(this.#result(sql, params, em, true), this.#activeFlags);
  }
  readonly #activeFlags = ({ rows, values }: BoundResult): boolean[] => {
    const flag = this.#flag;
    return values !== undefined ? values.map((row) => flag(row[0])) : rows.map((row) => flag(row.is_active));
  };
  /** `#affected()`, at once where the statement ran at once (node:sqlite). */
  #affectedNow(sql: string | Statement, params: readonly unknown[], em?: Context): MaybePromise<number> {
    return andThen(this.#result(sql, params, em), affectedOf);
  }

  // ---- users ---------------------------------------------------------------------------

  /**
   * Creates a user; the e-mail is normalised as fastapi-fullauth does it (Python's
   * `strip().lower()`). A taken e-mail is a `DuplicateEmailError`, also in a race. `extra`
   * sets the host's own user properties (`user.properties` of `defineFullauthEntities()`),
   * by property name; a relation takes the id.
   */
  async createUser(data: {
    email: string;
    hashedPassword?: string | null;
    isActive?: boolean;
    isVerified?: boolean;
    isSuperuser?: boolean;
    extra?: Readonly<Record<string, unknown>>;
  }): Promise<UserRecord> {
    const given = check.options('createUser() data', data, ['email', 'hashedPassword', 'isActive', 'isVerified', 'isSuperuser', 'extra']);
    const email = this.#email(given.email, 'email');
    const hashedPassword = check.optionalText('hashedPassword', given.hashedPassword, undefined, this.#d.textBytes);
    const isActive = check.bool('isActive', given.isActive, true);
    const isVerified = check.bool('isVerified', given.isVerified, false);
    const isSuperuser = check.bool('isSuperuser', given.isSuperuser, false);
    const extras = this.#hostValues(given.extra);
    const id = this.#id();
    const params = [...id.params, email, hashedPassword, isActive, isVerified, isSuperuser, this.#d.stamp(this.#now())];
    for (const e of extras) params.push(e.value);
    try {
      // Host columns vary by call: only the plain insert is one statement of the store.
      const row = await this.#insertRow(
        extras.length === 0 ? 'createUser' : undefined,
        this.#users,
        id.id,
        () => `insert into ${this.#users} (${id.column}"email", "hashed_password", "is_active", "is_verified", "is_superuser", "created_at"${extras.map((e) => `, ${quoteIdentifier(this.#d.name, e.column)}`).join('')})
         values (${id.value}?, ?, ?, ?, ?, ?${extras.map(() => ', ?').join('')})`,
        params,
      );
      return toUser(row);
    } catch (error) {
      if (error instanceof ConflictError && this.#d.conflictOn(error, this.#emailIndex, this.#usersName, 'email')) throw new DuplicateEmailError(email);
      throw error;
    }
  }

  /**
   * Inserts one row and returns it as stored: `returning *` where the database has it, else
   * read back by its (application-made) id on the same connection or transaction.
   */
  async #insertRow(name: string | undefined, table: string, id: string | undefined, insert: () => string, params: readonly unknown[], em?: Context): Promise<Row> {
    // One store always takes the same branch (by its database and id strategy): `name` is one statement.
    if (this.#d.insertReturning || id === undefined) {
      return (await this.#rows(name === undefined ? `${insert()} returning *` : this.#sql(name, () => `${insert()} returning *`), params, em))[0]!;
    }
    await this.#affected(name === undefined ? insert() : this.#sql(name, insert), params, em);
    const [row] = await this.#rows(this.#byId(table), [this.#k(id)], em);
    if (!row) throw new FullauthStoreError('The row just inserted could not be read back (deleted meanwhile).');
    return row;
  }

  /** A row by its id, read back after an insert where the database has no `returning` (named by its table, a name no other statement has). */
  #byId(table: string): Statement {
    return this.#sql(table, () => `select * from ${table} where "id" = ?`);
  }

  /** A checked, normalised e-mail: a string, not empty after normalising, within the column. */
  #email(value: unknown, argument: string): string {
    const given = check.text(argument, value, undefined, { empty: true });
    // Surrounding white space is stripped, but no address needs more than a few kilobytes of it.
    if (given.length > 4096) throw new ValueTooLongError(argument, LIMITS.email);
    const email = normalizeEmail(given);
    if (email.length === 0) throw new InvalidArgumentError(argument, 'must not be empty or only white space');
    return check.text(argument, email, LIMITS.email);
  }

  /** The host's user properties as columns and database values, each checked against its property. */
  #hostValues(extra: unknown): { column: string; value: unknown }[] {
    if (extra === undefined) return [];
    const given = check.options('extra', extra as Record<string, unknown>, Object.keys(extra as object));
    return Object.entries(given).map(([property, value]) => {
      const prop = this.#userExtras.get(property);
      if (!prop) {
        throw new InvalidArgumentError(
          'extra',
          `holds an unknown key: '${property.slice(0, 100)}' is not a host property of the user. Host properties: ${[...this.#userExtras.keys()].join(', ') || 'none'}`,
        );
      }
      const argument = `extra.${property}`;
      if (value === null || value === undefined) {
        if (!prop.nullable) throw new InvalidArgumentError(argument, 'must not be null (the property is not nullable)');
        return { column: prop.fieldNames[0]!, value: null };
      }
      const checked = checkHostValue(argument, value, prop);
      // The property's own type converts the value (arrays, JSON, custom types), as the ORM would.
      let converted: unknown;
      try {
        converted = prop.customType ? prop.customType.convertToDatabaseValue(checked, this.#platform, { mode: 'query' }) : checked;
      } catch (error) {
        throw new InvalidArgumentError(argument, `is not a value of its property (${error instanceof Error ? error.message.slice(0, 200) : 'refused'})`);
      }
      return { column: prop.fieldNames[0]!, value: converted };
    });
  }

  findUserByEmail(email: string): Promise<UserRecord | null> {
    try {
      const byEmail = this.#sql('userByEmail', () => `select ${USER_COLUMNS.select} from ${this.#users} where ${this.#d.exactText.sql('"email"')}`);
      const result = this.#result(byEmail, this.#d.exactText.values(this.#email(email, 'email')), undefined, true);
      return result instanceof Promise ? result.then(this.#firstUser, nullIfUnstorable) : settle(result, this.#firstUser);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The user, or null, also for a string that cannot be an id. */
  findUserById(id: string): Promise<UserRecord | null> {
    try {
      if (typeof id !== 'string') throw new InvalidArgumentError('id', `must be a string id, got ${typeof id}`);
      if (!check.possibleId(this.#idStrategy, id)) return Promise.resolve(null);
      const key = this.#k(check.canonicalId(this.#idStrategy, id));
      return settle(this.#result(this.#sql('userById', () => `select ${USER_COLUMNS.select} from ${this.#users} where "id" = ?`), [key], undefined, true), this.#firstUser);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sets a new password hash and revokes every refresh token of the user, in one transaction. */
  changePassword(userId: string, hashedPassword: string): Promise<void> {
    // andThen(), not async/await: on node:sqlite the whole call runs at once when nothing waits.
    return checked(
      () => [this.#userId(userId), check.text('hashedPassword', hashedPassword, undefined, { bytes: this.#d.textBytes })] as const,
      ([id, hash]) =>
        this.#revocation('changePassword', (em) =>
          // The UPDATE takes the user's row exclusively, as #lockUser would.
          andThen(this.#affectedNow(this.#sql('setPassword', () => `update ${this.#users} set "hashed_password" = ? where "id" = ?`), [hash, this.#k(id)], em), (changed) => {
            if (changed === 0) throw new NotFoundError(`No user with id ${id}.`);
            return andThen(this.#revokeUserTokens(em, id), nothing);
          }),
        ),
    );
  }

  /**
   * Replaces the user's password hash with a stronger hash of the same password (after a
   * successful login, when `passwordNeedsRehash()` says so) — only if the stored hash is still
   * `currentHash` (a password changed meanwhile wins), and without revoking any session, as
   * the password itself did not change. Returns whether the hash was replaced.
   */
  async rehashPassword(userId: string, currentHash: string, newHash: string): Promise<boolean> {
    const id = this.#userId(userId);
    const current = check.text('currentHash', currentHash);
    const next = check.text('newHash', newHash, undefined, { bytes: this.#d.textBytes });
    // A compare-and-set: the stored hash must be this one exactly (MySQL's collations would take another case for it).
    const rehash = this.#sql('rehash', () => `update ${this.#users} set "hashed_password" = ? where "id" = ? and ${this.#d.exactText.sql('"hashed_password"')}`);
    return (await this.#affected(rehash, [next, this.#k(id), ...this.#d.exactText.values(current)])) > 0;
  }

  /**
   * Deactivates the user (`is_active = false`) and revokes all their refresh tokens in the
   * same transaction: they cannot refresh, get new tokens, or pass a role or permission check.
   * Returns how many tokens were revoked.
   */
  deactivateUser(userId: string): Promise<number> {
    return checked(
      () => this.#userId(userId),
      (id) =>
        this.#revocation('deactivateUser', (em) =>
          andThen(this.#affectedNow(this.#sql('deactivate', () => `update ${this.#users} set "is_active" = false where "id" = ?`), [this.#k(id)], em), (changed) => {
            if (changed === 0) throw new NotFoundError(`No user with id ${id}.`);
            return this.#revokeUserTokens(em, id);
          }),
        ),
    );
  }

  /** Lets a deactivated user log in again (their old tokens stay revoked). */
  async reactivateUser(userId: string): Promise<void> {
    const id = this.#userId(userId);
    const changed = await this.#affected(this.#sql('reactivate', () => `update ${this.#users} set "is_active" = true where "id" = ?`), [this.#k(id)]);
    if (changed === 0) throw new NotFoundError(`No user with id ${id}.`);
  }

  /**
   * Deletes the user; the database cascades to tokens, roles, accounts and passkeys. A host
   * row that still refers to the user through a restricting foreign key is a
   * `UserReferencedError` naming the constraint. Returns whether the user existed.
   */
  async deleteUser(userId: string): Promise<boolean> {
    const id = this.#userId(userId);
    try {
      // The DELETE locks the user's row: rotations under way finish first, later ones find no user.
      return (await this.#affected(this.#sql('deleteUser', () => `delete from ${this.#users} where "id" = ?`), [this.#k(id)])) > 0;
    } catch (error) {
      const cause = error instanceof FullauthStoreError ? error.cause : undefined;
      if (cause instanceof ForeignKeyConstraintViolationException) {
        const { constraint, table } = cause as unknown as { constraint?: string; table?: string };
        throw new UserReferencedError(id, constraint, table, { cause });
      }
      throw error;
    }
  }

  // ---- refresh tokens ------------------------------------------------------------------

  /** The expiry the caller asked for, or undefined for the token format's own lifetime. */
  #expiry(given: { expiresIn?: unknown; expiresAt?: unknown }, now: Date): Date | undefined {
    if (given.expiresAt !== undefined && given.expiresIn !== undefined) {
      throw new InvalidArgumentError('options', 'takes expiresIn or expiresAt, not both');
    }
    if (given.expiresAt !== undefined) {
      const expiresAt = check.date('options.expiresAt', given.expiresAt);
      if (expiresAt <= now) throw new InvalidArgumentError('options.expiresAt', 'must be in the future');
      return expiresAt;
    }
    if (given.expiresIn === undefined) return undefined;
    return new Date(now.getTime() + check.integer('options.expiresIn', given.expiresIn, 1, MAX_LIFETIME_SECONDS) * 1000);
  }

  /**
   * Issues a refresh token to an active user: the opaque value is returned once; only its
   * sha256 digest is stored. A deactivated user is an `InactiveUserError`. With `familyId`
   * (continuing a login session), a family of another user is a `ForeignFamilyError`, and a
   * family whose tokens were all revoked (logged out) a `RevokedFamilyError`: a revocation
   * is never undone by issuing into its family.
   */
  async issueRefreshToken(userId: string, options: IssueTokenOptions = {}): Promise<IssuedRefreshToken> {
    const id = this.#userId(userId);
    const given = check.options('options', options, ISSUE_KEYS);
    const familyId = given.familyId === undefined ? undefined : check.text('options.familyId', given.familyId, LIMITS.familyId);
    const userAgent = check.captured('options.userAgent', given.userAgent, LIMITS.userAgent);
    const ipAddress = check.captured('options.ipAddress', given.ipAddress, LIMITS.ipAddress);
    const now = this.#now();
    const requested = this.#expiry(given, now);
    const rowId = this.#id();
    const newFamily = familyId === undefined ? this.#tokenFormat.newFamilyId() : familyId;
    const issuing = this.#tokenFormat.issue(id, newFamily, now, requested);
    const { token, expiresAt } = issuing instanceof Promise ? await issuing : issuing;
    const values = this.#tokenValues(rowId, token, expiresAt, userAgent, ipAddress, now);
    if (familyId === undefined) {
      // A new login: the user's row shared and checked active (re-checked after any wait).
      const rowIdMade = await this.#d.issueToken(this.#db, this.#tt, this.#k(id), newFamily, values);
      if (rowIdMade !== null) return { token, id: rowIdMade, userId: id, familyId: newFamily, expiresAt };
      throw await this.#whyNoToken(id);
    }
    // Continuing a session: the family is judged after the user's row is held, so that a
    // revocation that committed meanwhile is seen (a statement's snapshot predates its lock
    // waits), and by a locking read (FOR SHARE: it conflicts with the UPDATE that revokes), which in a caller's REPEATABLE READ or SERIALIZABLE
    // transaction fails (retryably) on a row revoked after its snapshot instead of reading
    // the old version.
    return this.#transaction(async (em) => {
      const [user] = await this.#rows(this.#sql('shareUser', () => `select "is_active" from ${this.#users} where "id" = ? ${this.#d.lockShared}`), [this.#k(id)], em);
      if (!user) throw new NotFoundError(`No user with id ${id}.`);
      if (user.is_active !== true) throw new InactiveUserError(id);
      const family = await this.#rows(
        this.#sql('shareFamily', () => `select "user_id", "revoked", "expires_at" from ${this.#tokens} where "family_id" = ? ${this.#d.lockShared}`),
        [familyId],
        em,
      ).catch(absentIfUnstorable<Row[]>([]));
      // Only a session that exists is continued: a family id the caller made up, or one whose
      // rows were purged, would otherwise start a session under a name another user may hold.
      if (family.length === 0) throw new NotFoundError(`No login session (token family) '${familyId}'.`);
      if (family.some((row) => String(row.user_id) !== id)) throw new ForeignFamilyError(familyId);
      if (!family.some((row) => row.revoked !== true && date(row.expires_at)! > now)) throw new RevokedFamilyError(familyId);
      const rowIdMade = await this.#d.issueToken(this.#db, this.#tt, this.#k(id), familyId, values, em);
      if (rowIdMade === null) throw await this.#whyNoToken(id, em);
      return { token, id: rowIdMade, userId: id, familyId, expiresAt };
    });
  }

  /** The values of a new refresh-token row, in the database's form. */
  #tokenValues(
    rowId: NewId,
    token: string,
    expiresAt: Date,
    userAgent: string | null,
    ipAddress: string | null,
    now: Date,
  ): TokenValues {
    return {
      id: rowId.id,
      idColumn: rowId.column,
      idValue: rowId.value,
      idParams: rowId.params,
      digest: tokenDigest(token),
      expiresAt: this.#d.stamp(expiresAt),
      userAgent,
      ipAddress,
      createdAt: this.#d.stamp(now),
    };
  }

  /** Why no token was issued to the user: they do not exist, or are deactivated. */
  async #whyNoToken(userId: string, em?: Context): Promise<FullauthStoreError> {
    const [user] = await this.#rows(this.#sql('userActive', () => `select "is_active" from ${this.#users} where "id" = ?`), [this.#k(userId)], em);
    return user ? new InactiveUserError(userId) : new NotFoundError(`No user with id ${userId}.`);
  }

  /**
   * Rotates a refresh token: exactly one caller can spend it (a compare-and-set on
   * `revoked`); the winner gets a new token in the same family. A spent or raced token
   * revokes the whole family and raises `RefreshTokenReuseError`; a deactivated user's token
   * raises `InactiveUserError`.
   */
  async rotateRefreshToken(token: string, options: Omit<IssueTokenOptions, 'familyId'> = {}): Promise<IssuedRefreshToken> {
    if (typeof token !== 'string') throw new InvalidArgumentError('token', `must be a string, got ${token === null ? 'null' : typeof token}`);
    const given = check.options('options', options, ROTATE_KEYS);
    const userAgent = check.captured('options.userAgent', given.userAgent, LIMITS.userAgent);
    const ipAddress = check.captured('options.ipAddress', given.ipAddress, LIMITS.ipAddress);
    const now = this.#now();
    const requested = this.#expiry(given, now);
    if (this.#em.isInTransaction()) {
      // A detected reuse revokes the family and raises: inside the caller's transaction that
      // raise would roll the revocation back, so rotation always commits on its own.
      throw new FullauthStoreError(
        'rotateRefreshToken() runs on its own: call it on a store outside a transaction, so that a detected reuse stays revoked.',
      );
    }
    // No token of ours is empty, that long or holds a NUL: no need to ask the database.
    if (token.length === 0 || token.length > LIMITS.token || token.includes('\u0000')) throw new InvalidRefreshTokenError();
    // A JWT is verified first (signature, expiry with the leeway, type), as the Python side does.
    const verifying = this.#tokenFormat.verify(token, now);
    const named = verifying instanceof Promise ? await verifying : verifying;
    const digest = tokenDigest(token);
    // Joined with its user: a token whose user row is gone (an orphan, left by a database
    // whose foreign keys were off) is no token.
    const byDigest = this.#sql(
      'tokenByDigest',
      () => `select t."user_id", t."family_id", t."expires_at", t."revoked", u."is_active"
         from ${this.#tokens} t join ${this.#users} u on u."id" = t."user_id" where t."token" = ?`,
    );
    const found = this.#result(byDigest, [digest], undefined, true);
    const { rows, values } = found instanceof Promise ? await found : found;
    // The row as an array of the select list, or as an object.
    const row: readonly unknown[] | undefined = values !== undefined ? values[0] : rows.length === 0 ? undefined : TOKEN_COLUMNS.map((column) => rows[0]![column]);
    if (row === undefined) throw new InvalidRefreshTokenError();
    // The driver's values read with the dialect's column readers (as #rows() and its conversion would read them).
    const columns = this.#d.columns;
    const userId = columns.key(row[0]);
    const familyId = String(row[1]);
    // A JWT whose subject or family is not its row's was not issued for it.
    if ((named.userId !== null && named.userId !== userId) || (named.familyId !== null && named.familyId !== familyId)) {
      throw new InvalidRefreshTokenError();
    }
    if (!columns.flag(row[4])) throw new InactiveUserError(userId);
    if (!columns.flag(row[3])) {
      const cutoff = new Date(now.getTime() - this.#tokenFormat.leewayMs);
      if (columns.date(row[2])! <= cutoff) throw new ExpiredRefreshTokenError();
      const issued = await this.#spendAndIssue(digest, userId, familyId, now, cutoff, requested, userAgent, ipAddress);
      if (issued) return issued;
    }
    // Presented again, or lost to a concurrent rotation or revocation: the family goes.
    const owners = await this.#transaction(async (em) => {
      const locked = await this.#lockFamilyOwners(em, familyId);
      await this.#affected(this.#sql('revokeFamily', () => `update ${this.#tokens} set "revoked" = true where "family_id" = ? and "revoked" = false`), [familyId], em);
      return locked;
    });
    if (owners.length === 0) throw new InvalidRefreshTokenError(); // the user was deleted meanwhile
    if (owners.some((owner) => !owner.isActive)) throw new InactiveUserError(userId);
    throw new RefreshTokenReuseError(familyId);
  }

  /**
   * Spends the token and inserts its successor, under the user's row shared (and only while
   * the user is active): the compare-and-set UPDATE and the INSERT commit together or not at
   * all, and only the caller whose UPDATE matched gets a row. A revocation holding the user's
   * row makes this wait, and its committed `revoked = true` then fails the compare-and-set.
   * How each database makes it so: `spendAndIssue` in ./dialects/.
   */
  async #spendAndIssue(
    digest: string,
    userId: string,
    familyId: string,
    now: Date,
    cutoff: Date,
    requested: Date | undefined,
    userAgent: string | null,
    ipAddress: string | null,
  ): Promise<IssuedRefreshToken | null> {
    // The successor is made first (a JWT names its user and family); it is only stored if the compare-and-set wins.
    const issuing = this.#tokenFormat.issue(userId, familyId, now, requested);
    const { token, expiresAt } = issuing instanceof Promise ? await issuing : issuing;
    const values = this.#tokenValues(this.#id(), token, expiresAt, userAgent, ipAddress, now);
    const id = await this.#d.spendAndIssue(this.#db, this.#tt, this.#k(userId), digest, cutoff, values);
    return id === null ? null : { token, id, userId, familyId, expiresAt };
  }

  /** Locks the users who own tokens of the family (one, unless rows were written around the store), in id order. */
  async #lockFamilyOwners(em: Context, familyId: string): Promise<{ isActive: boolean }[]> {
    const active = await this.#activeOf(
      this.#sql(
        'lockFamilyOwners',
        () => `select "is_active" from ${this.#users} where "id" in (select "user_id" from ${this.#tokens} where "family_id" = ?)
         order by "id" ${this.#d.lockForRevocation}`,
      ),
      [familyId],
      em,
    );
    return active.map((isActive) => ({ isActive }));
  }

  #revokeUserTokens(em: Context, userId: string, exceptFamily?: string): MaybePromise<number> {
    return exceptFamily === undefined
      ? this.#affectedNow(this.#sql('revokeUser', () => `update ${this.#tokens} set "revoked" = true where "user_id" = ? and "revoked" = false`), [this.#k(userId)], em)
      : this.#affectedNow(
          this.#sql('revokeUserExcept', () => `update ${this.#tokens} set "revoked" = true where "user_id" = ? and "revoked" = false and "family_id" <> ?`),
          [this.#k(userId), exceptFamily],
          em,
        );
  }

  /** Logout: revokes one login session (a token family). Returns how many tokens were revoked. */
  async revokeFamily(familyId: string): Promise<number> {
    const family = check.text('familyId', familyId, LIMITS.familyId);
    return this.#revocation('revokeFamily', async (em) => {
      await this.#lockFamilyOwners(em, family);
      return this.#affected(this.#sql('revokeFamily', () => `update ${this.#tokens} set "revoked" = true where "family_id" = ? and "revoked" = false`), [family], em);
    }).catch(absentIfUnstorable(0));
  }

  /**
   * Revokes one session of one user, as fastapi-fullauth's session revoke does: scoped to
   * `(userId, familyId)`, so another user's session is never touched. Returns whether the
   * user has (or had) that session — the same answer when called again.
   */
  async revokeSession(userId: string, familyId: string): Promise<boolean> {
    const id = this.#userId(userId);
    const family = check.text('familyId', familyId, LIMITS.familyId);
    return this.#revocation('revokeSession', async (em) => {
      if (!(await this.#lockUser(em, id))) return false;
      await this.#affected(
        this.#sql('revokeSession', () => `update ${this.#tokens} set "revoked" = true where "user_id" = ? and "family_id" = ? and "revoked" = false`),
        [this.#k(id), family],
        em,
      );
      const [row] = await this.#rows(
        this.#sql('hasSession', () => `select exists (select 1 from ${this.#tokens} where "user_id" = ? and "family_id" = ?) as "found"`),
        [this.#k(id), family],
        em,
      );
      return row?.found === true;
    }).catch(falseIfUnstorable);
  }

  /** Revokes every token of a user (password change or reset, account deletion). */
  revokeAllForUser(userId: string): Promise<number> {
    return checked(
      () => this.#userId(userId),
      (id) => this.#revocation('revokeAllForUser', (em) => andThen(this.#lockUser(em, id), () => this.#revokeUserTokens(em, id))),
    );
  }

  /** "Log out everywhere else": revokes every token of a user outside one family. */
  revokeAllExceptFamily(userId: string, familyId: string): Promise<number> {
    return checked(
      () => [this.#userId(userId), check.text('familyId', familyId, LIMITS.familyId)] as const,
      ([id, family]) =>
        this.#revocation('revokeAllExceptFamily', (em) => andThen(this.#lockUser(em, id), () => this.#revokeUserTokens(em, id, family))).catch((error: unknown) =>
          // A family id the column cannot hold is no session of the user's: every token goes.
          error instanceof UnstorableTextError ? this.revokeAllForUser(id) : Promise.reject(error),
        ),
    );
  }

  /**
   * The user's live sessions, as fastapi-fullauth lists them: families with at least one
   * unrevoked, unexpired token. `startedAt` is the earliest token of the family (revoked ones
   * included), `lastUsedAt` the latest; user agent, IP and expiry come from the newest live
   * token. Newest use first.
   */
  async listSessions(userId: string): Promise<SessionRecord[]> {
    const id = this.#userId(userId);
    const statement = this.#sql('sessions', () => this.#d.sessions.statement(this.#tt));
    return settle(this.#result(statement, this.#d.sessions.params(this.#k(id), this.#now()), undefined, true), this.#sessionRecords);
  }
  /** The sessions' rows (by position where the driver gave arrays) as records, read in one pass. */
  readonly #sessionRecords = ({ rows, values }: BoundResult): SessionRecord[] => {
    const { date: at } = this.#d.columns;
    const session = (familyId: unknown, startedAt: unknown, lastUsedAt: unknown, expiresAt: unknown, userAgent: unknown, ipAddress: unknown): SessionRecord => ({
      familyId: String(familyId),
      startedAt: at(startedAt)!,
      lastUsedAt: at(lastUsedAt)!,
      expiresAt: at(expiresAt)!,
      userAgent: (userAgent as string | null) ?? null,
      ipAddress: (ipAddress as string | null) ?? null,
    });
    if (values !== undefined) return values.map((v) => session(v[0], v[1], v[2], v[3], v[4], v[5]));
    return rows.map((r) => session(r.family_id, r.started_at, r.last_used_at, r.expires_at, r.user_agent, r.ip_address));
  };

  /** Deletes expired tokens, `batchSize` (a whole number from 1 to 100,000) rows per statement so locks stay short. Returns the count. */
  async purgeExpiredTokens(options: { batchSize?: number; before?: Date } = {}): Promise<number> {
    const given = check.options('options', options, ['batchSize', 'before']);
    const batch = given.batchSize === undefined ? 1000 : check.integer('options.batchSize', given.batchSize, 1, MAX_PURGE_BATCH);
    const before = given.before === undefined ? this.#now() : check.date('options.before', given.before);
    let total = 0;
    for (;;) {
      // Rows a revocation (or a deletion's cascade) holds are left for the next run instead of
      // waited for in another order than theirs (which deadlocks).
      const deleted = await this.#d.purgeBatch(this.#db, this.#tt, before, batch);
      total += deleted;
      if (deleted < batch) return total;
    }
  }

  // ---- roles and permissions -----------------------------------------------------------

  /**
   * The role or permission (`kind`, in `table`) named `name`, inserted unless it exists (a
   * permission with its description); at once where every statement ran at once (node:sqlite).
   */
  #ensureNamed(em: Context, kind: 'role' | 'permission', table: string, name: string, description = ''): MaybePromise<Named> {
    const permission = kind === 'permission';
    const { byName, insert } = permission ? (this.#permissionStatements ??= this.#namedStatements(table, true)) : (this.#roleStatements ??= this.#namedStatements(table, false));
    // The insert's values: the new row's key first where the application makes the id.
    const id = applicationId(this.#idStrategy);
    const key = id === undefined ? undefined : this.#k(id);
    const values: unknown[] = id === undefined ? [name] : [key, name];
    if (permission) values.push(description);
    const inserted = this.#d.insertIfAbsent(this.#db, em, insert, values, '("name")', id === undefined ? '"id"' : '', { existing: { sql: byName, params: [name] } });
    return inserted instanceof Promise ? inserted.then((outcome) => this.#named(em, byName, name, key, outcome)) : this.#named(em, byName, name, key, inserted);
  }
  /** `#ensureNamed()`'s statements for the roles' or the permissions' table, built once (no look-up by name per call). */
  #namedStatements(table: string, permission: boolean): { byName: Statement; insert: string } {
    const id = this.#id();
    return {
      // A new statement sees the row a concurrent insert committed.
      byName: this.#sql(permission ? 'permissionByName' : 'roleByName', () => `select "id" from ${table} where "name" = ?${this.#d.latestRead}`),
      insert: permission
        ? this.#sql('insertPermission', () => `insert into ${table} (${id.column}"name", "description") values (${id.value}?, ?)`).sql
        : this.#sql('insertRole', () => `insert into ${table} (${id.column}"name") values (${id.value}?)`).sql,
    };
  }
  /** `#ensureNamed()`'s role or permission after its insert: the one made, the one the insert returned, or the one read by name. */
  #named(em: Context, byName: Statement, name: string, key: unknown, { inserted, rows }: Inserted): MaybePromise<Named> {
    // The key made (undefined where the database makes the id: the insert returned it).
    if (inserted) return { key: key === undefined ? this.#k(String(rows[0]!.id)) : key, created: true };
    if (rows.length > 0) return { key: this.#k(String(rows[0]!.id)), created: false };
    const read = this.#result(byName, [name], em);
    return read instanceof Promise ? read.then(this.#existing) : this.#existing(read);
  }
  /** The first row of a read by name (`#ensureNamed`), its `id` as the driver gives it. */
  readonly #existing = ({ rows }: BoundResult): Named => {
    const row = rows[0];
    // Deleted by a concurrent call between the insert that met it and this read.
    if (row === undefined) throw new RetryableStoreError('The role or permission being created was deleted by a concurrent call; nothing was written, retry it.');
    // The key as its column stores it (text: uuid or hex digits), bound back as it is.
    const stored = row.id;
    return { key: typeof stored === 'string' ? stored : this.#k(this.#d.columns.key(stored)), created: false };
  };

  /**
   * A transaction in which the role/permission map (sync, grant, revoke) changes: one at a
   * time across every instance of the service (PostgreSQL: an advisory lock; see ./dialects/).
   */
  #roleMapTransaction<T>(fn: (em: Context) => Promise<T>): Promise<T> {
    const session = this.#session();
    return this.#d.roleMapTransaction(this.#db, session, !session.transaction, this.#roleMapLock, fn).catch((error: unknown) => {
      throw storeError(error);
    });
  }

  /** Gives a user a role, creating the role if it does not exist. Idempotent. */
  assignRole(userId: string, roleName: string): Promise<void> {
    let roles: string, userRoles: string, id: string, userKey: unknown, name: string;
    try {
      roles = this.#table('FullauthRole', 'role');
      userRoles = this.#table('FullauthUserRole', 'role');
      id = this.#userId(userId);
      userKey = this.#k(id);
      name = check.text('roleName', roleName, LIMITS.role);
    } catch (error) {
      return Promise.reject(error);
    }
    // In a caller's transaction the write path decides: a read there sees the transaction's
    // snapshot, which may hold a link deleted since.
    if (this.#em.getTransactionContext()) return this.#linkRole(roles, userRoles, userKey, name, id);
    // A role the user holds already is one read, with no write transaction: a call that changes
    // nothing takes no write lock (SQLite: none that another process waits for, or waits for
    // itself) and no row lock (a service that makes sure of a role at every sign-in).
    let held: BoundResult | Promise<BoundResult>;
    const params = [userKey, ...this.#d.exactText.values(name)];
    try {
      held = this.#result(this.#holdsRoleStatement(roles, userRoles), params, undefined, true);
    } catch (error) {
      // A name the database cannot store is held by nobody: the write path refuses it.
      return error instanceof UnstorableTextError ? this.#linkRole(roles, userRoles, userKey, name, id) : Promise.reject(error);
    }
    if (held instanceof Promise) {
      return held.then(this.#firstOk, falseIfUnstorable).then((holds) => (holds ? undefined : this.#linkRole(roles, userRoles, userKey, name, id)));
    }
    return this.#firstOk(held) ? Promise.resolve() : this.#linkRole(roles, userRoles, userKey, name, id);
  }
  /**
   * Whether the user holds the role of exactly this name (so `#ensureNamed()` would find it and
   * the link is there). Where orphans can exist (SQLite: fastapi-fullauth deletes users with
   * foreign keys off), the user's row too: an orphan link is absent.
   */
  #holdsRoleStatement(roles: string, userRoles: string): Statement {
    return this.#sql('holdsRole', () => {
      const userExists = this.#d.orphans ? ` and exists (select 1 from ${this.#users} u where u."id" = ur."user_id")` : '';
      return `select exists (select 1 from ${userRoles} ur join ${roles} r on r."id" = ur."role_id" where ur."user_id" = ? and ${this.#d.exactText.sql('r."name"')}${userExists}) as "ok"`;
    });
  }
  /** `assignRole()`'s write: the role made unless it exists, then the link unless it exists. */
  #linkRole(roles: string, userRoles: string, userKey: unknown, name: string, userId: string): Promise<void> {
    // Without async/await: on node:sqlite the whole call then runs at once, with no closure
    // per step (at SQLite's speed, a step's promise or closure is a measurable share of the call).
    return this.#transaction((em) => {
      const role = this.#ensureNamed(em, 'role', roles, name);
      return role instanceof Promise ? role.then((found) => this.#giveRole(em, userRoles, userKey, found.key, userId)) : this.#giveRole(em, userRoles, userKey, role.key, userId);
    });
  }
  /** `assignRole()`'s link of the user to the role, unless it exists. */
  #giveRole(em: Context, userRoles: string, userKey: unknown, roleKey: unknown, userId: string): MaybePromise<void> {
    const { insert, held } = (this.#userRoleStatements ??= {
      insert: this.#sql('insertUserRole', () => `insert into ${userRoles} ("user_id", "role_id") values (?, ?)`).sql,
      held: this.#sql('userRoleHeld', () => `select 1 as "held" from ${userRoles} where "user_id" = ? and "role_id" = ?${this.#d.latestRead}`),
    });
    const key = [userKey, roleKey];
    const linked = this.#d.insertIfAbsent(this.#db, em, insert, key, '', '', { existing: { sql: held, params: key } });
    if (!this.#d.orphans) return linked instanceof Promise ? linked.then(nothing) : undefined;
    // Where orphans exist (SQLite), the link met may be one whose user was deleted with foreign
    // keys off (no foreign key is checked for an insert that does nothing): the user must exist.
    return andThen(linked, ({ inserted }) => (inserted ? undefined : this.#userMustExist(em, userKey, userId)));
  }
  /** NotFoundError unless the user's row exists (in `em`'s transaction). */
  #userMustExist(em: Context, userKey: unknown, userId: string): MaybePromise<void> {
    const found = this.#result(this.#sql('userExists', () => `select 1 as "found" from ${this.#users} where "id" = ?`), [userKey], em);
    return andThen(found, ({ rows }) => {
      if (rows.length === 0) throw new NotFoundError(`No user with id ${userId}.`);
    });
  }

  /** Takes a role from a user. Returns whether the user had it. */
  async removeRole(userId: string, roleName: string): Promise<boolean> {
    const roles = this.#table('FullauthRole', 'role');
    const userRoles = this.#table('FullauthUserRole', 'role');
    const id = this.#userId(userId);
    const name = check.text('roleName', roleName, LIMITS.role);
    // By the exact name, as fastapi-fullauth's remove_role compares (in Python).
    const remove = this.#sql('removeRole', () => `delete from ${userRoles} where "user_id" = ? and "role_id" = (select "id" from ${roles} where ${this.#d.exactText.sql('"name"')})`);
    return this.#affected(remove, [this.#k(id), ...this.#d.exactText.values(name)]).then((affected) => affected > 0, falseIfUnstorable);
  }

  /** The names of a user's roles. */
  async listRoles(userId: string): Promise<string[]> {
    const roles = this.#table('FullauthRole', 'role');
    const userRoles = this.#table('FullauthUserRole', 'role');
    const id = this.#userId(userId);
    const rows = await this.#rows(
      // Joined to the user: on SQLite a user deleted with foreign keys off leaves its links (orphans).
      this.#sql('listRoles', () => `select r."name" from ${roles} r join ${userRoles} ur on ur."role_id" = r."id" join ${this.#users} u on u."id" = ur."user_id" where ur."user_id" = ? order by r."name"`),
      [this.#k(id)],
    );
    return rows.map((r) => String(r.name));
  }

  /** Grants a permission (`resource:action`) to a role, creating either if missing. Idempotent. */
  async grantPermission(roleName: string, permission: string, description = ''): Promise<void> {
    this.#table('FullauthRolePermission', 'permission');
    const role = check.text('roleName', roleName, LIMITS.role);
    const perm = check.text('permission', permission, LIMITS.permission);
    const text = check.text('description', description, LIMITS.description, { empty: true });
    await this.#roleMapTransaction((em) => this.#grant(em, role, perm, text));
  }

  async #grant(em: Context, roleName: string, permission: string, description = '') {
    const role = await this.#ensureNamed(em, 'role', this.#table('FullauthRole', 'role'), roleName);
    const perm = await this.#ensureNamed(em, 'permission', this.#table('FullauthPermission', 'permission'), permission, description);
    const grants = this.#table('FullauthRolePermission', 'permission');
    const key = [role.key, perm.key];
    const { inserted } = await this.#d.insertIfAbsent(
      this.#db,
      em,
      this.#sql('insertGrant', () => `insert into ${grants} ("role_id", "permission_id") values (?, ?)`).sql,
      key,
      '',
      '',
      { existing: { sql: this.#sql('grantHeld', () => `select 1 as "held" from ${grants} where "role_id" = ? and "permission_id" = ?${this.#d.latestRead}`), params: key } },
    );
    return { role, perm, granted: inserted };
  }

  /** Revokes a permission from a role. Returns whether the role had it. */
  async revokePermission(roleName: string, permission: string): Promise<boolean> {
    const grants = this.#table('FullauthRolePermission', 'permission');
    const role = check.text('roleName', roleName, LIMITS.role);
    const perm = check.text('permission', permission, LIMITS.permission);
    const revoked = this.#roleMapTransaction(async (em) => {
      return (await this.#affected(
        this.#sql(
          'revokePermission',
          () => `delete from ${grants}
           where "role_id" = (select "id" from ${this.#table('FullauthRole', 'role')} where "name" = ?)
             and "permission_id" = (select "id" from ${this.#table('FullauthPermission', 'permission')} where "name" = ?)`,
        ),
        [role, perm],
        em,
      )) > 0;
    });
    return revoked.catch(falseIfUnstorable);
  }

  /** Whether an active user has the role (active superusers have every role). One round trip. */
  hasRole(userId: string, roleName: string): Promise<boolean> {
    try {
      const userRoles = this.#table('FullauthUserRole', 'role');
      const roles = this.#table('FullauthRole', 'role');
      const id = this.#userId(userId);
      const name = check.text('roleName', roleName, LIMITS.role);
      return this.#check(
        this.#sql(
          'hasRole',
          () => `select exists (select 1 from ${this.#users} u where u."id" = ? and u."is_active" and (u."is_superuser" or exists (
             select 1 from ${userRoles} ur join ${roles} r on r."id" = ur."role_id"
             where ur."user_id" = u."id" and ${this.#d.exactText.sql('r."name"')}))) as "ok"`,
        ),
        [this.#k(id), ...this.#d.exactText.values(name)],
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Whether any role of an active user grants the permission (active superusers pass every check). One round trip. */
  hasPermission(userId: string, permission: string): Promise<boolean> {
    try {
      const grants = this.#table('FullauthRolePermission', 'permission');
      const id = this.#userId(userId);
      const name = check.text('permission', permission, LIMITS.permission);
      return this.#check(
        this.#sql(
          'hasPermission',
          () => `select exists (select 1 from ${this.#users} u where u."id" = ? and u."is_active" and (u."is_superuser" or exists (
             select 1 from ${this.#table('FullauthUserRole', 'role')} ur
             join ${grants} rp on rp."role_id" = ur."role_id"
             join ${this.#table('FullauthPermission', 'permission')} p on p."id" = rp."permission_id"
             where ur."user_id" = u."id" and ${this.#d.exactText.sql('p."name"')}))) as "ok"`,
        ),
        [this.#k(id), ...this.#d.exactText.values(name)],
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Makes the roles in `map` grant exactly the listed permissions, creating what is
   * missing and revoking grants not listed. Roles not in the map are left alone. Running it
   * again changes nothing. Concurrent syncs (a rolling deploy) run one after the other,
   * each applied whole.
   */
  async syncRoles(map: Readonly<Record<string, readonly string[]>>): Promise<RoleSyncResult> {
    const grants = this.#table('FullauthRolePermission', 'permission');
    const permissions = this.#table('FullauthPermission', 'permission');
    const roles = this.#table('FullauthRole', 'role');
    const wantedByRole = checkRoleMap(map);
    const result: RoleSyncResult = { createdRoles: [], createdPermissions: [], granted: [], revoked: [] };
    await this.#roleMapTransaction(async (em) => {
      for (const [roleName, wanted] of wantedByRole) {
        const role = await this.#ensureNamed(em, 'role', roles, roleName);
        if (role.created) result.createdRoles.push(roleName);
        for (const permission of wanted) {
          const { perm, granted } = await this.#grant(em, roleName, permission);
          if (perm.created) result.createdPermissions.push(permission);
          if (granted) result.granted.push(`${roleName} → ${permission}`);
        }
        const removed = await this.#d.revokeUnlisted(this.#db, em, grants, permissions, role.key, wanted);
        for (const name of removed) result.revoked.push(`${roleName} → ${name}`);
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
    const given = check.options('linkOAuthAccount() data', data, ['userId', 'provider', 'providerUserId', 'providerEmail', 'accessToken', 'refreshToken', 'expiresAt']);
    const userId = this.#userId(given.userId, 'userId');
    const provider = check.text('provider', given.provider, LIMITS.provider);
    const providerUserId = check.text('providerUserId', given.providerUserId, LIMITS.providerUserId);
    const providerEmail = check.optionalText('providerEmail', given.providerEmail, LIMITS.providerEmail);
    const accessToken = check.optionalText('accessToken', given.accessToken, undefined, this.#d.textBytes);
    const refreshToken = check.optionalText('refreshToken', given.refreshToken, undefined, this.#d.textBytes);
    const expiresAt = given.expiresAt === undefined || given.expiresAt === null ? null : check.date('expiresAt', given.expiresAt);
    for (let attempt = 0; ; attempt++) {
      const id = this.#id();
      const insert = this.#sql(
        'linkOAuth',
        () => `insert into ${table} (${id.column}"provider", "provider_user_id", "user_id", "provider_email", "access_token", "refresh_token", "expires_at", "created_at")
         values (${id.value}?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const inserted = await this.#d.insertIfAbsent(
        this.#db,
        undefined,
        insert.sql,
        [...id.params, provider, providerUserId, this.#k(userId), providerEmail, accessToken, refreshToken, expiresAt === null ? null : this.#d.stamp(expiresAt), this.#d.stamp(this.#now())],
        '("provider", "provider_user_id")',
        this.#d.insertReturning ? OAUTH_COLUMNS.select : '',
        // The returned row read by position where the driver gives arrays, as recordPasskeyUse()'s:
        // node:sqlite's row objects are dictionaries, each column read from them a slow look-up.
        { arrays: true },
      );
      if (inserted.inserted) {
        const values = inserted.values?.[0];
        if (values !== undefined) return { account: this.#oauthValues(values), created: true };
        const row = inserted.rows[0] ?? (await this.#rows(this.#byId(table), [this.#k(id.id!)]))[0];
        if (row) return { account: toOAuth(row), created: true };
      }
      const existing = await this.findOAuthAccount(provider, providerUserId);
      if (existing) return { account: existing, created: false };
      // The row in the way by the unique key's own comparison: where the database's collation
      // ignores case and accents (MySQL, MariaDB), another account's look-alike id.
      // The message names only what the caller gave: the other account is another user's.
      const [lookAlike] = await this.#rows(
        this.#sql('oauthInTheWay', () => `select 1 as "found" from ${table} a join ${this.#users} u on u."id" = a."user_id" where a."provider" = ? and a."provider_user_id" = ?`),
        [provider, providerUserId],
      );
      if (lookAlike) {
        throw new ConflictError(
          `The ${provider} account ${providerUserId} could not be linked: the database holds another account whose provider and id it compares as equal (its collation ignores case and accents).`,
        );
      }
      if (attempt > 0) throw new ConflictError(`The ${provider} account ${providerUserId} could not be linked (changed concurrently); retry.`);
      // The row in the way belongs to no user (an orphan) or was just deleted: an orphan goes, and the link is tried again.
      await this.#deleteOrphans(table, '"provider" = ? and "provider_user_id" = ?', [provider, providerUserId]);
    }
  }

  /**
   * Deletes the rows matching `where` whose user row is gone: orphans, which a database
   * written with foreign keys off (fastapi-fullauth on SQLite) leaves behind a user's
   * deletion, and which the store treats as absent. Returns whether any was deleted.
   */
  async #deleteOrphans(table: string, where: string, params: readonly unknown[]): Promise<boolean> {
    return (await this.#affected(`delete from ${table} where ${where} and ${this.#orphan(table)}`, params)) > 0;
  }
  #orphan(table: string): string {
    return `not exists (select 1 from ${this.#users} u where u."id" = ${table}."user_id")`;
  }

  /** The account, or null; an orphan row (its user is gone) is none. */
  async findOAuthAccount(provider: string, providerUserId: string): Promise<OAuthAccountRecord | null> {
    const table = this.#table('FullauthOAuthAccount', 'oauth');
    const exact = this.#d.exactText;
    const [row] = await this.#rows(
      this.#sql('findOAuth', () => `select a.* from ${table} a join ${this.#users} u on u."id" = a."user_id" where ${exact.sql('a."provider"')} and ${exact.sql('a."provider_user_id"')}`),
      [...exact.values(check.text('provider', provider, LIMITS.provider)), ...exact.values(check.text('providerUserId', providerUserId, LIMITS.providerUserId))],
    ).catch(absentIfUnstorable<Row[]>([]));
    return row ? toOAuth(row) : null;
  }

  /** Unlinks a provider from a user, refusing to remove the user's last way to log in. */
  async unlinkOAuthAccount(userId: string, provider: string): Promise<void> {
    const accounts = this.#table('FullauthOAuthAccount', 'oauth');
    const id = this.#userId(userId);
    const name = check.text('provider', provider, LIMITS.provider);
    const passkeys = this.#tables.FullauthPasskey;
    await this.#transaction(async (em) => {
      // Locking the user serialises concurrent unlinks of the same user.
      const key = this.#k(id);
      const [user] = await this.#rows(
        this.#sql('lockUserPassword', () => `select "hashed_password" from ${this.#users} where "id" = ? ${this.#d.lockExclusive}`),
        [key],
        em,
      );
      if (!user) throw new NotFoundError(`No user with id ${id}.`);
      const [counts] = await this.#rows(
        // Whether the passkey group is included is fixed per store: one statement.
        this.#sql(
          'loginMethods',
          () => `select (select count(*) from ${accounts} where "user_id" = ?) as "accounts",
                  (select count(*) from ${accounts} where "user_id" = ? and ${this.#d.exactText.sql('"provider"')}) as "linked"
                  ${passkeys ? `, (select count(*) from ${passkeys} where "user_id" = ?) as "passkeys"` : ''}`,
        ),
        passkeys ? [key, key, ...this.#d.exactText.values(name), key] : [key, key, ...this.#d.exactText.values(name)],
        em,
      ).catch(absentIfUnstorable<Row[]>([]));
      if (!counts || Number(counts.linked) === 0) throw new NotFoundError(`The user has no '${name}' account.`);
      const methods = (user.hashed_password ? 1 : 0) + Number(counts.accounts) + Number(counts.passkeys ?? 0);
      if (methods - Number(counts.linked) < 1) throw new LastLoginMethodError();
      await this.#affected(
        this.#sql('unlinkOAuth', () => `delete from ${accounts} where "user_id" = ? and ${this.#d.exactText.sql('"provider"')}`),
        [key, ...this.#d.exactText.values(name)],
        em,
      );
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
    const table = this.#table('FullauthPasskey', 'passkey');
    const given = check.options('registerPasskey() data', data, ['userId', 'credentialId', 'publicKey', 'signCount', 'deviceName', 'transports', 'backedUp']);
    const userId = this.#userId(given.userId, 'userId');
    const credentialId = check.text('credentialId', given.credentialId, LIMITS.credentialId);
    const publicKey = check.text('publicKey', given.publicKey, undefined, { bytes: this.#d.textBytes });
    const signCount = given.signCount === undefined ? 0 : check.integer('signCount', given.signCount, 0, INT4_MAX);
    const deviceName = given.deviceName === undefined ? '' : check.text('deviceName', given.deviceName, LIMITS.deviceName, { empty: true });
    const transports = checkTransports(given.transports);
    const backedUp = check.bool('backedUp', given.backedUp, false);
    for (let attempt = 0; ; attempt++) {
      const id = this.#id();
      try {
        const row = await this.#insertRow(
          'insertPasskey',
          table,
          id.id,
          () => `insert into ${table} (${id.column}"user_id", "credential_id", "public_key", "sign_count", "device_name", "transports", "backed_up", "created_at", "last_used_at")
           values (${id.value}?, ?, ?, ?, ?, ?, ?, ?, null)`,
          [...id.params, this.#k(userId), credentialId, publicKey, signCount, deviceName, transports, backedUp, this.#d.stamp(this.#now())],
        );
        return toPasskey(row);
      } catch (error) {
        if (!(error instanceof ConflictError)) throw error;
        // A credential held by an orphan row (its user is gone) is free: the orphan goes.
        if (attempt > 0 || !this.#d.orphans || !(await this.#deleteOrphans(table, '"credential_id" = ?', [credentialId]))) {
          throw new DuplicatePasskeyError(credentialId);
        }
      }
    }
  }

  /** The passkey, or null; an orphan row (its user is gone) is none. */
  async findPasskey(credentialId: string): Promise<PasskeyRecord | null> {
    const table = this.#table('FullauthPasskey', 'passkey');
    const [row] = await this.#rows(
      this.#sql('findPasskey', () => `select k.* from ${table} k join ${this.#users} u on u."id" = k."user_id" where ${this.#d.exactText.sql('k."credential_id"')}`),
      this.#d.exactText.values(check.text('credentialId', credentialId, LIMITS.credentialId)),
    ).catch(absentIfUnstorable<Row[]>([]));
    return row ? toPasskey(row) : null;
  }

  /**
   * Records a successful assertion, as fastapi-fullauth does: the sign count only grows (a
   * compare-and-set, `WHERE sign_count < :new`), and a count that did not grow raises
   * `PasskeySignCountError` (a possible clone) — except a reported count of 0, which means
   * the authenticator keeps no counter (synced passkeys): accepted, the stored count kept.
   */
  async recordPasskeyUse(credentialId: string, signCount: number): Promise<PasskeyRecord> {
    const table = this.#table('FullauthPasskey', 'passkey');
    const credential = check.text('credentialId', credentialId, LIMITS.credentialId);
    const count = check.integer('signCount', signCount, 0, INT4_MAX);
    const now = this.#d.stamp(this.#now());
    const exact = this.#d.exactText;
    // Per store, the statement differs only by whether the count is 0 (the rest is the database's).
    const [sql, params] =
      count === 0
        ? [this.#sql('touchPasskey', () => this.#passkeyUpdate(table, `"last_used_at" = ?`, '')), [now, ...exact.values(credential)]]
        : [this.#sql('usePasskey', () => this.#passkeyUpdate(table, `"sign_count" = ?, "last_used_at" = ?`, ` and "sign_count" < ?`)), [count, now, ...exact.values(credential), count]];
    let passkey: PasskeyRecord | undefined;
    try {
      if (this.#d.updateReturning) {
        // The returned row read by position where the driver gives arrays (node:sqlite: its row
        // objects are dictionaries, each property read a megamorphic load), else by name.
        const result = this.#result(sql, params, undefined, true);
        const { rows, values } = result instanceof Promise ? await result : result;
        passkey = values !== undefined ? (values[0] && this.#passkeyValues(values[0])) : rows[0] && this.#passkeyRecord(rows[0]);
      } else if ((await this.#affected(sql, params)) > 0) {
        const [row] = await this.#rows(this.#sql('passkeyByCredential', () => `select * from ${table} where ${exact.sql('"credential_id"')}`), exact.values(credential));
        passkey = row && toPasskey(row);
      }
    } catch (error) {
      if (error instanceof UnstorableTextError) throw new NotFoundError(`No passkey with credential id ${credential}.`, { cause: error });
      throw error;
    }
    if (passkey) return passkey;
    const current = await this.findPasskey(credential);
    if (!current) throw new NotFoundError(`No passkey with credential id ${credential}.`);
    throw new PasskeySignCountError(credential, current.signCount, count);
  }

  /** An update of a passkey by its credential id (only one whose user exists), returning the row where the database can. */
  #passkeyUpdate(table: string, set: string, where: string): string {
    const owned = this.#d.orphans ? ` and ${this.#orphan(table).replace('not exists', 'exists')}` : '';
    return `update ${table} set ${set} where ${this.#d.exactText.sql('"credential_id"')}${where}${owned}${this.#d.updateReturning ? ` returning ${PASSKEY_COLUMNS.select}` : ''}`;
  }

  // ---- access tokens (fastapi-fullauth's format) ---------------------------------------

  #requireJwt(operation: string): FastapiFullauthTokens {
    if (!this.#jwt) throw new FullauthConfigError(`${operation} needs the store's tokens option: createFullauthStore(em, { tokens: fastapiFullauthTokens({ secretKey }) }).`);
    return this.#jwt;
  }

  /**
   * An access token for an active user, with their role names (`roles`), `extra` and the
   * session's `family_id`, as the Python side issues them at login and refresh. A
   * single-purpose token (`extra.purpose`, true as Python reads it) is issued as its flows
   * issue one: no roles, and `password_reset` valid PASSWORD_RESET_EXPIRE_MINUTES,
   * `email_verify` EMAIL_VERIFY_EXPIRE_MINUTES. `expiresIn` (seconds) sets the lifetime itself.
   */
  async issueAccessToken(
    userId: string,
    options: { extra?: Readonly<Record<string, unknown>>; familyId?: string; expiresIn?: number } = {},
  ): Promise<{ token: string; expiresAt: Date }> {
    const tokens = this.#requireJwt('issueAccessToken()');
    const id = this.#userId(userId);
    const given = check.options('options', options, ['extra', 'familyId', 'expiresIn']);
    const familyId = given.familyId === undefined ? undefined : check.text('options.familyId', given.familyId, LIMITS.familyId);
    // In its JSON form, before any SQL: what is decided here is what the token will say.
    const extra = jsonObject('options.extra', given.extra ?? {});
    const purpose: unknown = Object.prototype.hasOwnProperty.call(extra, 'purpose') ? extra.purpose : undefined;
    const single = pythonTruthy(purpose);
    const lifetimeSeconds =
      given.expiresIn !== undefined
        ? check.integer('options.expiresIn', given.expiresIn, 1, MAX_LIFETIME_SECONDS)
        : purpose === 'password_reset' || purpose === 'email_verify'
          ? tokens.purposeSeconds[purpose]
          : undefined;
    const user = await this.findUserById(id);
    if (!user) throw new NotFoundError(`No user with id ${id}.`);
    if (!user.isActive) throw new InactiveUserError(id);
    const roles = !single && this.#tables.FullauthRole ? await this.listRoles(id) : [];
    const issued = await tokens.issueAccessToken({
      userId: id,
      roles,
      extra,
      now: this.#now(),
      ...(familyId === undefined ? {} : { familyId }),
      ...(lifetimeSeconds === undefined ? {} : { lifetimeSeconds }),
    });
    return { token: issued.token, expiresAt: issued.expiresAt };
  }

  /**
   * The user of an access token, as fastapi-fullauth's request dependency finds them: the
   * token verifies (signature, expiry with the leeway, `type` "access", never a refresh
   * token; `purpose` for single-purpose tokens), and its user exists and is active.
   * Raises `InvalidTokenError` (`expired` tells a client to refresh) or `InactiveUserError`.
   */
  async authenticate(accessToken: string, options: { purpose?: string } = {}): Promise<{ user: UserRecord; claims: AccessTokenClaims }> {
    const tokens = this.#requireJwt('authenticate()');
    const given = check.options('options', options, ['purpose']);
    const claims = await tokens.verifyAccessToken(accessToken, { now: this.#now(), ...(given.purpose === undefined ? {} : { purpose: check.text('options.purpose', given.purpose) }) });
    const user = check.possibleId(this.#idStrategy, claims.sub) ? await this.findUserById(claims.sub) : null;
    if (!user) throw new InvalidTokenError('its user does not exist');
    if (!user.isActive) throw new InactiveUserError(user.id);
    return { user, claims };
  }
}

/** The store over an EntityManager whose ORM includes the fullauth entities. */
export function createFullauthStore(em: EntityManager, options?: FullauthStoreOptions): FullauthStore {
  return new FullauthStore(em, options);
}

