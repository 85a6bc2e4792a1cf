// Tokens in fastapi-fullauth's format: JWTs signed with the shared SECRET_KEY (HS256/384/512),
// with the claims its core/tokens.py writes and checks, so that a TypeScript and a Python
// service accept each other's tokens. Signing and verifying are jose's; no crypto here.
import { randomUUID } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import { items, options as ownOptions } from '../store/arguments.js';
import { InvalidArgumentError } from '../store/errors.js';
import { InvalidTokenError } from './errors.js';

export const JWT_ALGORITHMS = ['HS256', 'HS384', 'HS512'] as const;
export type FullauthJwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

/** The Python side's settings, by their names there (config.py), camel-cased. */
export interface FastapiFullauthTokenSettings {
  /** SECRET_KEY: the HMAC key of every JWT (the same string as the Python service's). */
  secretKey: string;
  /** ALGORITHM, default HS256. */
  algorithm?: FullauthJwtAlgorithm;
  /** ACCESS_TOKEN_EXPIRE_MINUTES, default 30. */
  accessTokenExpireMinutes?: number;
  /** REFRESH_TOKEN_EXPIRE_DAYS, default 30: the refresh JWT's `exp` and its row's `expires_at`. */
  refreshTokenExpireDays?: number;
  /** JWT_LEEWAY_SECONDS, default 30: clock leeway when decoding. */
  jwtLeewaySeconds?: number;
  /** PASSWORD_RESET_EXPIRE_MINUTES, default 15: the lifetime of a `password_reset` token. */
  passwordResetExpireMinutes?: number;
  /** EMAIL_VERIFY_EXPIRE_MINUTES, default 1440: the lifetime of an `email_verify` token. */
  emailVerifyExpireMinutes?: number;
}

/** The claims of a verified access token. */
export interface AccessTokenClaims {
  sub: string;
  exp: number;
  iat: number;
  jti: string;
  type: 'access';
  roles: string[];
  /** `{}` when the token carries none (or a non-object, as the Python side reads it). */
  extra: Record<string, unknown>;
  family_id?: string;
}

/** The claims of a verified refresh token. */
export interface RefreshTokenClaims {
  sub: string;
  exp: number;
  iat: number;
  jti: string;
  type: 'refresh';
  family_id: string;
}

/** A new family id as the Python side makes them: `uuid4().hex`. */
export const newFamilyId = (): string => randomUUID().replace(/-/g, '');

const SETTING_KEYS: readonly string[] = [
  'secretKey',
  'algorithm',
  'accessTokenExpireMinutes',
  'refreshTokenExpireDays',
  'jwtLeewaySeconds',
  'passwordResetExpireMinutes',
  'emailVerifyExpireMinutes',
];

/**
 * A claims object as the token will carry it: an object that JSON can write, in its JSON form
 * (NaN as null, a Date as its text, undefined properties left out), so that what is decided
 * about it (is `purpose` set?) is what the other side will read.
 */
export function jsonObject(argument: string, value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new InvalidArgumentError(argument, 'must be an object');
  let json: string;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new InvalidArgumentError(argument, `must be JSON (${error instanceof Error ? error.message.slice(0, 120) : 'it cannot be written'})`);
  }
  return JSON.parse(json) as Record<string, unknown>;
}

/**
 * Whether a claim is true as Python's `if` reads it: `None`, `False`, `0`, `""`, `[]` and `{}`
 * are not. fastapi-fullauth refuses a session token only when `extra.get("purpose")` is.
 */
export function pythonTruthy(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === 0 || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/**
 * Issues and verifies fastapi-fullauth's JWTs. Give it to `createFullauthStore(em, { tokens })`
 * to make the store's refresh tokens JWTs the Python service refreshes, and use
 * `issueAccessToken`/`verifyAccessToken` for the access tokens of your API.
 */
export class FastapiFullauthTokens {
  readonly algorithm: FullauthJwtAlgorithm;
  readonly accessTokenSeconds: number;
  readonly refreshTokenSeconds: number;
  readonly leewaySeconds: number;
  /** The lifetimes of single-purpose tokens, by `extra.purpose`, as fastapi-fullauth's flows issue them. */
  readonly purposeSeconds: Readonly<Record<'password_reset' | 'email_verify', number>>;
  readonly #key: Uint8Array;

  constructor(given: FastapiFullauthTokenSettings) {
    if (typeof given !== 'object' || given === null) throw new InvalidArgumentError('settings', 'must be an object with secretKey');
    // Own properties only: an inherited `algorithm` or `secretKey` is never read.
    const settings = ownOptions('settings', given, SETTING_KEYS);
    if (typeof settings.secretKey !== 'string' || settings.secretKey.length === 0) {
      throw new InvalidArgumentError('settings.secretKey', "must be a non-empty string (the Python service's SECRET_KEY)");
    }
    const algorithm = settings.algorithm ?? 'HS256';
    if (!(JWT_ALGORITHMS as readonly string[]).includes(algorithm)) {
      throw new InvalidArgumentError('settings.algorithm', `must be one of ${JWT_ALGORITHMS.join(', ')}, got ${String(algorithm).slice(0, 40)}`);
    }
    this.algorithm = algorithm;
    this.accessTokenSeconds = positive('settings.accessTokenExpireMinutes', settings.accessTokenExpireMinutes, 30) * 60;
    this.refreshTokenSeconds = positive('settings.refreshTokenExpireDays', settings.refreshTokenExpireDays, 30) * 24 * 3600;
    this.leewaySeconds = nonNegative('settings.jwtLeewaySeconds', settings.jwtLeewaySeconds, 30);
    this.purposeSeconds = {
      password_reset: positive('settings.passwordResetExpireMinutes', settings.passwordResetExpireMinutes, 15) * 60,
      email_verify: positive('settings.emailVerifyExpireMinutes', settings.emailVerifyExpireMinutes, 1440) * 60,
    };
    this.#key = new TextEncoder().encode(settings.secretKey);
  }

  /**
   * An access token: `sub`, `exp`, `iat`, `jti`, `type: "access"`, `roles`, `extra` and, when
   * known, `family_id`. `lifetimeSeconds`: its own lifetime (fastapi-fullauth's `expire_seconds`),
   * else ACCESS_TOKEN_EXPIRE_MINUTES.
   */
  async issueAccessToken(data: {
    userId: string;
    roles?: readonly string[];
    extra?: Readonly<Record<string, unknown>>;
    familyId?: string;
    now?: Date;
    lifetimeSeconds?: number;
  }): Promise<{ token: string; expiresAt: Date; claims: AccessTokenClaims }> {
    const given = ownOptions('data', data, ['userId', 'roles', 'extra', 'familyId', 'now', 'lifetimeSeconds']);
    const lifetime = given.lifetimeSeconds === undefined ? this.accessTokenSeconds : positive('lifetimeSeconds', given.lifetimeSeconds, 1);
    if (lifetime > MAX_LIFETIME_SECONDS) throw new InvalidArgumentError('lifetimeSeconds', `must be at most ${MAX_LIFETIME_SECONDS} (100 years)`);
    const roles = given.roles === undefined ? [] : items('roles', given.roles, 10_000);
    if (roles.some((r) => typeof r !== 'string')) throw new InvalidArgumentError('roles', 'must be an array of role names');
    const extra = jsonObject('extra', given.extra ?? {});
    const iat = seconds(given.now);
    const claims: AccessTokenClaims = {
      sub: subject(given.userId),
      exp: iat + Math.floor(lifetime),
      iat,
      jti: newFamilyId(),
      type: 'access',
      roles: roles as string[],
      extra: { ...extra },
      ...(given.familyId === undefined ? {} : { family_id: text('familyId', given.familyId) }),
    };
    return { token: await this.#sign(claims), expiresAt: new Date(claims.exp * 1000), claims };
  }

  /** A refresh token of the family, valid `lifetimeSeconds` (default REFRESH_TOKEN_EXPIRE_DAYS). */
  async issueRefreshToken(data: { userId: string; familyId: string; now?: Date; lifetimeSeconds?: number }): Promise<{
    token: string;
    expiresAt: Date;
    claims: RefreshTokenClaims;
  }> {
    const iat = seconds(data.now);
    const claims: RefreshTokenClaims = {
      sub: subject(data.userId),
      exp: iat + Math.floor(data.lifetimeSeconds ?? this.refreshTokenSeconds),
      iat,
      jti: newFamilyId(),
      type: 'refresh',
      family_id: text('familyId', data.familyId),
    };
    return { token: await this.#sign(claims), expiresAt: new Date(claims.exp * 1000), claims };
  }

  /**
   * Verifies an access token as the Python side decodes it: signature, `exp` (with the
   * leeway), `iat`, `sub`, and `type` "access" (assumed when absent). A refresh token is
   * refused. With `purpose`, only a token whose `extra.purpose` is that value passes; without
   * it, a single-purpose token is refused: one whose `extra.purpose` is true as Python reads it
   * (`""`, `null`, `false`, `0` are not, as fastapi-fullauth's request dependency has it).
   */
  async verifyAccessToken(token: string, options: { purpose?: string; now?: Date } = {}): Promise<AccessTokenClaims> {
    const payload = await this.#verify(token, options.now);
    const type = payload.type ?? 'access';
    if (type !== 'access') throw new InvalidTokenError(`not an access token (type '${String(type)}')`);
    const extra = isRecord(payload.extra) ? payload.extra : {};
    const purpose = extra.purpose;
    if (options.purpose !== undefined ? purpose !== options.purpose : pythonTruthy(purpose)) {
      throw new InvalidTokenError(options.purpose !== undefined ? `not a '${options.purpose}' token` : `a single-purpose ('${String(purpose)}') token`);
    }
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
    return {
      sub: payload.sub!,
      exp: payload.exp!,
      iat: payload.iat!,
      jti: typeof payload.jti === 'string' ? payload.jti : '',
      type: 'access',
      roles,
      extra,
      ...(typeof payload.family_id === 'string' ? { family_id: payload.family_id } : {}),
    };
  }

  /** Verifies a refresh token: signature, `exp` (with the leeway), `iat`, `sub`, `type` "refresh", `family_id`. */
  async verifyRefreshToken(token: string, options: { now?: Date } = {}): Promise<RefreshTokenClaims> {
    const payload = await this.#verify(token, options.now);
    if (payload.type !== 'refresh') throw new InvalidTokenError(`not a refresh token (type '${String(payload.type ?? 'access')}')`);
    if (typeof payload.family_id !== 'string' || payload.family_id.length === 0) throw new InvalidTokenError('no family_id');
    return {
      sub: payload.sub!,
      exp: payload.exp!,
      iat: payload.iat!,
      jti: typeof payload.jti === 'string' ? payload.jti : '',
      type: 'refresh',
      family_id: payload.family_id,
    };
  }

  async #sign(claims: AccessTokenClaims | RefreshTokenClaims): Promise<string> {
    return new SignJWT({ ...claims }).setProtectedHeader({ alg: this.algorithm, typ: 'JWT' }).sign(this.#key);
  }

  async #verify(token: unknown, now?: Date): Promise<JWTPayload & Record<string, unknown>> {
    if (typeof token !== 'string') throw new InvalidArgumentError('token', `must be a string, got ${token === null ? 'null' : typeof token}`);
    if (token.length === 0 || token.length > 8192) throw new InvalidTokenError('malformed');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#key, {
        algorithms: [this.algorithm],
        clockTolerance: this.leewaySeconds,
        requiredClaims: ['exp', 'iat', 'sub'],
        ...(now ? { currentDate: now } : {}),
      }));
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new InvalidTokenError('expired', { cause: error, expired: true });
      throw new InvalidTokenError(error instanceof Error ? error.message : 'malformed', { cause: error });
    }
    // PyJWT refuses a token issued in the future (beyond the leeway); jose only checks iat's type.
    if (typeof payload.iat !== 'number' || payload.iat > seconds(now) + this.leewaySeconds) throw new InvalidTokenError('issued in the future');
    if (typeof payload.sub !== 'string' || payload.sub.length === 0) throw new InvalidTokenError('no subject');
    return payload as JWTPayload & Record<string, unknown>;
  }
}

/** fastapi-fullauth's token settings, for `createFullauthStore(em, { tokens })` and your API's access tokens. */
export function fastapiFullauthTokens(settings: FastapiFullauthTokenSettings): FastapiFullauthTokens {
  return new FastapiFullauthTokens(settings);
}

const seconds = (now?: Date) => Math.floor((now === undefined ? Date.now() : Date.prototype.getTime.call(now)) / 1000);
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function subject(userId: unknown): string {
  return text('userId', userId);
}

function text(argument: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidArgumentError(argument, 'must be a non-empty string');
  return value;
}

/** A token lifetime beyond this (100 years) is a mistake, not a policy. */
const MAX_LIFETIME_SECONDS = 100 * 365 * 24 * 3600;

function positive(argument: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(argument, 'must be a positive number');
  return value;
}

function nonNegative(argument: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new InvalidArgumentError(argument, 'must be zero or a positive number');
  return value;
}
