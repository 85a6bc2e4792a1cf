// The two formats of the store's refresh tokens: opaque random strings (the default, for a
// service that shares its database with no one) and fastapi-fullauth's JWTs. Either way the
// table stores only the sha256 digest of the token string.
import { createHash, randomBytes } from 'node:crypto';
import { uuidv7 } from 'uuidv7';
import { ExpiredRefreshTokenError, InvalidRefreshTokenError } from '../store/errors.js';
import { InvalidTokenError } from './errors.js';
import { newFamilyId, type FastapiFullauthTokens } from './jwt.js';

/** The sha256 hex digest of a refresh token: what the table stores (fastapi-fullauth's `sha256(token).hexdigest()`). */
export const tokenDigest = (token: string): string => createHash('sha256').update(token).digest('hex');

const DEFAULT_LIFETIME_SECONDS = 30 * 24 * 3600;

interface IssuedToken {
  token: string;
  expiresAt: Date;
}
/** The user and family a token names (null for an opaque token). */
interface NamedBy {
  userId: string | null;
  familyId: string | null;
}
/** What an opaque token names: nothing (one object, never changed). */
const NAMES_NOTHING: Readonly<NamedBy> = Object.freeze({ userId: null, familyId: null });

export interface RefreshTokenFormat {
  /** A new login session's family id. */
  newFamilyId(): string;
  /** A new token of the family; `expiresAt` (when given) or the format's lifetime (at once where nothing is awaited: opaque tokens). */
  issue(userId: string, familyId: string, now: Date, expiresAt: Date | undefined): IssuedToken | Promise<IssuedToken>;
  /**
   * Checks a presented token before the database is asked: a JWT's signature, expiry (with
   * the leeway) and type. Returns the user and family it names (null for an opaque token),
   * or throws `InvalidRefreshTokenError` / `ExpiredRefreshTokenError`. At once where nothing is awaited (opaque tokens).
   */
  verify(token: string, now: Date): NamedBy | Promise<NamedBy>;
  /** How long past its row's `expires_at` a token still rotates (the JWT leeway), in ms. */
  readonly leewayMs: number;
}

/** 32 random bytes, base64url: nothing to verify but its digest in the table. */
export const opaqueRefreshTokens: RefreshTokenFormat = {
  newFamilyId: () => uuidv7(),
  issue: (_userId, _familyId, now, expiresAt) => ({
    token: randomBytes(32).toString('base64url'),
    expiresAt: expiresAt ?? new Date(now.getTime() + DEFAULT_LIFETIME_SECONDS * 1000),
  }),
  verify: () => NAMES_NOTHING,
  leewayMs: 0,
};

/** fastapi-fullauth's refresh JWTs: the Python service refreshes them, and ours refreshes its. */
export function jwtRefreshTokens(tokens: FastapiFullauthTokens): RefreshTokenFormat {
  return {
    newFamilyId,
    async issue(userId, familyId, now, expiresAt) {
      const lifetimeSeconds = expiresAt === undefined ? undefined : Math.max(1, Math.floor((expiresAt.getTime() - now.getTime()) / 1000));
      const issued = await tokens.issueRefreshToken({ userId, familyId, now, ...(lifetimeSeconds === undefined ? {} : { lifetimeSeconds }) });
      return { token: issued.token, expiresAt: issued.expiresAt };
    },
    async verify(token, now) {
      try {
        const claims = await tokens.verifyRefreshToken(token, { now });
        return { userId: claims.sub, familyId: claims.family_id };
      } catch (error) {
        if (error instanceof InvalidTokenError && error.expired) throw new ExpiredRefreshTokenError();
        if (error instanceof InvalidTokenError) throw new InvalidRefreshTokenError();
        throw error;
      }
    },
    leewayMs: tokens.leewaySeconds * 1000,
  };
}
