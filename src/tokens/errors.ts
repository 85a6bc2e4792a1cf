import { FullauthStoreError } from '../store/errors.js';

/** A token that did not verify: bad signature, expired, malformed, of the wrong type or purpose. */
export class InvalidTokenError extends FullauthStoreError {
  override name = 'InvalidTokenError';
  /** The token verified but had expired (beyond the leeway): the client should refresh. */
  readonly expired: boolean;
  constructor(reason: string, options: { cause?: unknown; expired?: boolean } = {}) {
    super(`The token is not valid: ${reason}.`, { cause: options.cause });
    this.expired = options.expired ?? false;
  }
}
