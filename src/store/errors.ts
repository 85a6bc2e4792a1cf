/** Base class of every error the store raises: catch it to handle all of them. */
export class FullauthStoreError extends Error {
  override name = 'FullauthStoreError';
}
/** A user with this (normalised) e-mail exists already. */
export class DuplicateEmailError extends FullauthStoreError {
  override name = 'DuplicateEmailError';
  constructor(readonly email: string) {
    super(`A user with the e-mail '${email}' exists already.`);
  }
}
/** No refresh token has this value. */
export class InvalidRefreshTokenError extends FullauthStoreError {
  override name = 'InvalidRefreshTokenError';
  constructor() {
    super('The refresh token is not valid.');
  }
}
/** The refresh token expired. */
export class ExpiredRefreshTokenError extends FullauthStoreError {
  override name = 'ExpiredRefreshTokenError';
  constructor() {
    super('The refresh token has expired.');
  }
}
/** A revoked token was presented again (or lost a race): its whole family is now revoked. */
export class RefreshTokenReuseError extends FullauthStoreError {
  override name = 'RefreshTokenReuseError';
  constructor(readonly familyId: string) {
    super('The refresh token was already used; every token of its session has been revoked.');
  }
}
/** Unlinking would leave the user no way to log in. */
export class LastLoginMethodError extends FullauthStoreError {
  override name = 'LastLoginMethodError';
  constructor() {
    super("This is the user's last way to log in; add a password or another method first.");
  }
}
/** A passkey reported a sign count that did not grow: the credential may have been cloned. */
export class PasskeySignCountError extends FullauthStoreError {
  override name = 'PasskeySignCountError';
  constructor(readonly credentialId: string, readonly stored: number, readonly reported: number) {
    super(`Passkey sign count did not grow (stored ${stored}, reported ${reported}): the credential may be cloned.`);
  }
}
/** The operation needs a model group the ORM does not include. */
export class GroupNotIncludedError extends FullauthStoreError {
  override name = 'GroupNotIncludedError';
  constructor(readonly group: string) {
    super(`This operation needs the '${group}' model group; include it in defineFullauthEntities().`);
  }
}
/** A record the operation needs does not exist (an unknown user, role, credential, or an id that cannot exist). */
export class NotFoundError extends FullauthStoreError {
  override name = 'NotFoundError';
}
/** A passkey with this credential id is registered already. */
export class DuplicatePasskeyError extends FullauthStoreError {
  override name = 'DuplicatePasskeyError';
  constructor(readonly credentialId: string) {
    super(`A passkey with the credential id '${credentialId}' is registered already.`);
  }
}
/** A unique key of the auth tables refused the write (the specific operations raise a more precise error). */
export class ConflictError extends FullauthStoreError {
  override name = 'ConflictError';
}
/** A public store argument of the wrong type, empty, out of range or malformed; raised before any SQL. */
export class InvalidArgumentError extends FullauthStoreError {
  override name = 'InvalidArgumentError';
  constructor(readonly argument: string, problem: string) {
    super(`${argument} ${problem}.`);
  }
}
/**
 * A text holds characters its column cannot hold: a MySQL/MariaDB table in another character
 * set than utf8mb4 (fastapi-fullauth's tables on a server whose default is latin1), or a
 * PostgreSQL database in another encoding than UTF8. No row can have it, so nothing was
 * written; the store's lookups of such a text find nothing instead of raising this.
 */
export class UnstorableTextError extends FullauthStoreError {
  override name = 'UnstorableTextError';
}
/** A value longer than its column allows; raised before any SQL. */
export class ValueTooLongError extends InvalidArgumentError {
  override name = 'ValueTooLongError';
  /** `unit`: the limit counts characters (varchar), or bytes in UTF-8 (a MySQL/MariaDB TEXT column). */
  constructor(argument: string, readonly limit: number, readonly unit: 'characters' | 'bytes' = 'characters') {
    super(argument, `is longer than its column allows (at most ${limit} ${unit === 'bytes' ? 'bytes in UTF-8: a TEXT column of MySQL/MariaDB' : 'characters'})`);
  }
}
/** The user is deactivated (`is_active = false`): no tokens are issued or rotated for them. */
export class InactiveUserError extends FullauthStoreError {
  override name = 'InactiveUserError';
  constructor(readonly userId: string) {
    super(`The user ${userId} is deactivated: log in is refused.`);
  }
}
/** The family (login session) belongs to another user. */
export class ForeignFamilyError extends FullauthStoreError {
  override name = 'ForeignFamilyError';
  constructor(readonly familyId: string) {
    super(`The token family '${familyId}' belongs to another user.`);
  }
}
/** Every token of the family was revoked (a logout or a detected reuse): start a new session instead. */
export class RevokedFamilyError extends FullauthStoreError {
  override name = 'RevokedFamilyError';
  constructor(readonly familyId: string) {
    super(`The token family '${familyId}' was revoked: start a new login session instead of continuing it.`);
  }
}
/** A row of the host's still refers to the user through a foreign key that restricts deletion. */
export class UserReferencedError extends FullauthStoreError {
  override name = 'UserReferencedError';
  constructor(readonly userId: string, readonly constraint: string | undefined, readonly table: string | undefined, options?: ErrorOptions) {
    super(
      `The user ${userId} is still referenced${table ? ` by '${table}'` : ''}${constraint ? ` (foreign key '${constraint}')` : ''}: ` +
        'delete or re-point those rows first, or declare that relation with deleteRule: "cascade" or "set null".',
      options,
    );
  }
}
/**
 * The database aborted the operation to resolve a conflict with a concurrent one (a deadlock
 * or serialization failure) and nothing was written: running it again is safe.
 */
export class RetryableStoreError extends FullauthStoreError {
  override name = 'RetryableStoreError';
  readonly retryable = true;
}
