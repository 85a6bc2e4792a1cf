/** Plain rows the store returns (camelCase, as the entity types name them). */
export interface UserRecord {
  id: string;
  email: string;
  hashedPassword: string | null;
  isActive: boolean;
  isVerified: boolean;
  isSuperuser: boolean;
  createdAt: Date;
}
export interface IssuedRefreshToken {
  /** The opaque token to hand to the client: returned once, never stored (only its sha256 digest is). */
  token: string;
  id: string;
  userId: string;
  familyId: string;
  expiresAt: Date;
}
export interface SessionRecord {
  familyId: string;
  startedAt: Date;
  lastUsedAt: Date;
  expiresAt: Date;
  userAgent: string | null;
  ipAddress: string | null;
}
export interface OAuthAccountRecord {
  id: string;
  provider: string;
  providerUserId: string;
  userId: string;
  providerEmail: string | null;
  accessToken: string | null;
  refreshToken: string | null;
  expiresAt: Date | null;
  createdAt: Date;
}
export interface PasskeyRecord {
  id: string;
  userId: string;
  credentialId: string;
  publicKey: string;
  signCount: number;
  deviceName: string;
  transports: string;
  backedUp: boolean;
  createdAt: Date;
  lastUsedAt: Date | null;
}
/** What `syncRoles()` changed. */
export interface RoleSyncResult {
  createdRoles: string[];
  createdPermissions: string[];
  granted: string[];
  revoked: string[];
}

// ---- rows → records -------------------------------------------------------------------

type Row = Record<string, unknown>;

/** A timestamp as the driver returns it (a Date, or PostgreSQL's text), or null. */
export const date = (value: unknown): Date | null => {
  if (value == null) return null;
  if (value instanceof Date) return value;
  const text = String(value);
  // V8 reads a year below 100 in PostgreSQL's format ("0001-01-01 00:00:00+00") as 19xx/20xx:
  // such a timestamp goes through the ISO form, which it reads as written.
  return text.startsWith('00') ? new Date(isoOf(text)) : new Date(text);
};

/** "0001-01-01 00:00:00.5+00" → "0001-01-01T00:00:00.5+00:00" (a zone of hours only gets its minutes). */
const isoOf = (text: string): string => text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00');

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

/** The columns a `UserRecord` is read from. */
export const USER_COLUMNS = ['id', 'email', 'hashed_password', 'is_active', 'is_verified', 'is_superuser', 'created_at'] as const;
/** Where a user row holds each column: its property names (a row object), or its positions (a row array of `USER_COLUMNS`). */
type UserLayout = Record<(typeof USER_COLUMNS)[number], string | number>;
const BY_NAME = Object.fromEntries(USER_COLUMNS.map((column) => [column, column])) as UserLayout;
export const USER_POSITIONS = Object.fromEntries(USER_COLUMNS.map((column, i) => [column, i])) as UserLayout;

/** A user row → `UserRecord`, with the given column readers (made once per store, not per row). */
export function userRecords({ key, flag, date: time }: Columns, at: UserLayout = BY_NAME): (r: Row | readonly unknown[]) => UserRecord {
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
export const OAUTH_COLUMNS = [
  'id',
  'provider',
  'provider_user_id',
  'user_id',
  'provider_email',
  'access_token',
  'refresh_token',
  'expires_at',
  'created_at',
] as const;
/** Where an OAuth account row holds each column: its property names, or its positions (a row array of `OAUTH_COLUMNS`). */
type OAuthLayout = Record<(typeof OAUTH_COLUMNS)[number], string | number>;
const OAUTH_BY_NAME = Object.fromEntries(OAUTH_COLUMNS.map((column) => [column, column])) as OAuthLayout;
export const OAUTH_POSITIONS = Object.fromEntries(OAUTH_COLUMNS.map((column, i) => [column, i])) as OAuthLayout;

/** An OAuth account row → `OAuthAccountRecord`, with the given column readers (as `userRecords()`). */
export function oauthRecords({ key, date: time }: Columns, at: OAuthLayout = OAUTH_BY_NAME): (r: Row | readonly unknown[]) => OAuthAccountRecord {
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
export const PASSKEY_COLUMNS = [
  'id',
  'user_id',
  'credential_id',
  'public_key',
  'sign_count',
  'device_name',
  'transports',
  'backed_up',
  'created_at',
  'last_used_at',
] as const;
/** Where a passkey row holds each column: its property names, or its positions (a row array of `PASSKEY_COLUMNS`). */
type PasskeyLayout = Record<(typeof PASSKEY_COLUMNS)[number], string | number>;
const PASSKEY_BY_NAME = Object.fromEntries(PASSKEY_COLUMNS.map((column) => [column, column])) as PasskeyLayout;
export const PASSKEY_POSITIONS = Object.fromEntries(PASSKEY_COLUMNS.map((column, i) => [column, i])) as PasskeyLayout;

/** A passkey row → `PasskeyRecord`, with the given column readers (as `userRecords()`). */
export function passkeyRecords({ key, flag, date: time }: Columns, at: PasskeyLayout = PASSKEY_BY_NAME): (r: Row | readonly unknown[]) => PasskeyRecord {
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
