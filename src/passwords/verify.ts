import { readPassword, readStoredHash, utf8Length } from './arguments.js';
import { beyondVerifyLimits, parseArgon2, parseBcrypt, schemeOf } from './formats.js';
import { loadArgon2, loadBcrypt } from './libraries.js';
import { BCRYPT_MAX_PASSWORD_BYTES } from './policy.js';

/**
 * Checks a password against a stored hash, with fastapi-fullauth 0.15's answers:
 * - argon2 PHC strings (argon2id, argon2i, argon2d) and bcrypt `$2a$`, `$2b$`, `$2y$` are verified;
 * - a malformed hash, or one of another scheme, is `false` (fastapi-fullauth catches the
 *   libraries' InvalidHash/VerificationError/ValueError and returns `False`);
 * - against a bcrypt hash, a password over 72 UTF-8 bytes is `false`, even when its first 72
 *   bytes match: fastapi-fullauth's bcrypt (5.0 in its lock) raises ValueError there, which it
 *   turns into `False`. No such password can have been hashed by either service;
 * - a hash asking more work than `VERIFY_LIMITS` (four times the policy's) is `false` before
 *   the library runs: a tampered row cannot hold the memory or the threads for hours.
 *
 * The work runs on libuv's thread pool, not on the event loop.
 * @throws PasswordArgumentError (not a string, or a password that is not well-formed Unicode),
 *   PasswordLibraryMissingError (the hash needs a library that is not installed, as
 *   fastapi-fullauth raises ImportError rather than failing the login silently)
 */
export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const plain = readPassword(password);
  const stored = readStoredHash(hash);
  switch (schemeOf(stored)) {
    case 'bcrypt': {
      const bcrypt = await loadBcrypt();
      if (utf8Length(plain) > BCRYPT_MAX_PASSWORD_BYTES) return false;
      // The library's parser is more lenient than Python's (it takes `+4` for a cost): only the
      // canonical form Python accepts goes through.
      const info = parseBcrypt(stored);
      if (info === null || beyondVerifyLimits(info)) return false;
      return settle(bcrypt.verify(plain, stored));
    }
    case 'argon2': {
      const argon2 = await loadArgon2();
      // The same: the library takes the m, t, p fields in any order; libargon2 does not.
      const info = parseArgon2(stored);
      if (info === null || beyondVerifyLimits(info)) return false;
      return settle(argon2.verify(stored, plain));
    }
    default:
      return false;
  }
}

/**
 * A library error on a well-formed hash (memory it cannot allocate, a parameter it does not
 * support) is `false`, as every argon2-cffi and bcrypt error is for fastapi-fullauth.
 */
async function settle(check: Promise<boolean>): Promise<boolean> {
  try {
    return (await check) === true;
  } catch {
    return false;
  }
}
