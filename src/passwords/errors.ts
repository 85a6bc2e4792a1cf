/** Base class of every error the password layer raises: catch it to handle all of them. */
export class FullauthPasswordError extends Error {
  override name = 'FullauthPasswordError';
}

/**
 * An argument of the wrong type or shape. `argument` names it (`password`, `hash`, `options`,
 * `options.algorithm`). The message never repeats a password: errors end up in logs.
 */
export class PasswordArgumentError extends FullauthPasswordError {
  override name = 'PasswordArgumentError';
  constructor(
    readonly argument: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * bcrypt reads at most 72 bytes of a password. Like fastapi-fullauth, a longer one is refused
 * instead of truncated: truncation would let every password sharing those 72 bytes log in, and
 * would lock the user out the day the service switches to argon2id.
 */
export class PasswordTooLongError extends FullauthPasswordError {
  override name = 'PasswordTooLongError';
  constructor(
    /** The password's length in UTF-8 bytes (the password itself is not kept). */
    readonly byteLength: number,
    readonly maxBytes: number,
  ) {
    super(
      `bcrypt passwords must be at most ${maxBytes} bytes when UTF-8 encoded (this one has ${byteLength}). ` +
        'Use argon2id for longer passwords.',
    );
  }
}

/** The hashing libraries this layer can load; both are optional peer dependencies. */
export type PasswordLibrary = '@node-rs/argon2' | '@node-rs/bcrypt';

/**
 * The optional peer a hash needs is not installed (or its native binary did not load).
 * `cause` holds the loader's own error.
 */
export class PasswordLibraryMissingError extends FullauthPasswordError {
  override name = 'PasswordLibraryMissingError';
  constructor(
    readonly packageName: PasswordLibrary,
    readonly installed: boolean,
    options?: { cause?: unknown },
  ) {
    super(
      installed
        ? `${packageName} is installed but could not be loaded (${firstLine(options?.cause)}). ` +
            `Reinstall it with: npm i ${packageName} (its native binary for ${process.platform}-${process.arch} comes as an optional dependency).`
        : `${packageName} is not installed; it is needed for ${packageName === '@node-rs/argon2' ? 'argon2' : 'bcrypt'} password hashes. ` +
            `Install it with: npm i ${packageName}`,
      options,
    );
  }
}

const firstLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).split('\n', 1)[0]!.slice(0, 200);
