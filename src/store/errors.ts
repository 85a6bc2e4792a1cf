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
