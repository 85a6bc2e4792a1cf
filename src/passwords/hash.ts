import { readAlgorithmOptions, readPassword, utf8Length } from './arguments.js';
import { PasswordTooLongError } from './errors.js';
import { ARGON2_ALGORITHM, ARGON2_VERSION_0X13, loadArgon2, loadBcrypt } from './libraries.js';
import { ARGON2ID_PARAMETERS, BCRYPT_COST, BCRYPT_MAX_PASSWORD_BYTES, type PasswordAlgorithmOptions } from './policy.js';

/**
 * Hashes a password as fastapi-fullauth 0.15 does, so that either service verifies it:
 * - `argon2id` (default): argon2-cffi `PasswordHasher()` parameters, a fresh 16-byte salt,
 *   `$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>`;
 * - `bcrypt`: cost 12, `$2b$`; a password over 72 UTF-8 bytes is refused with
 *   `PasswordTooLongError`, never truncated.
 *
 * The work runs on libuv's thread pool, not on the event loop.
 * @throws PasswordArgumentError, PasswordTooLongError, PasswordLibraryMissingError
 */
export async function hashPassword(password: string, options?: PasswordAlgorithmOptions | null): Promise<string> {
  const plain = readPassword(password);
  const algorithm = readAlgorithmOptions(options);
  if (algorithm === 'bcrypt') {
    // Checked before the library is loaded, in fastapi-fullauth's order.
    const bytes = utf8Length(plain);
    if (bytes > BCRYPT_MAX_PASSWORD_BYTES) throw new PasswordTooLongError(bytes, BCRYPT_MAX_PASSWORD_BYTES);
    const bcrypt = await loadBcrypt();
    const hashed = await bcrypt.hash(plain, BCRYPT_COST);
    // @node-rs/bcrypt 1.10 writes $2y$, Python's bcrypt $2b$: two names of the same algorithm
    // (both fix $2a$'s 8-bit bug), so the prefix is renamed to what the Python side writes.
    if (!/^\$2[by]\$\d\d\$/.test(hashed)) throw new Error(`@node-rs/bcrypt made an unexpected hash prefix '${hashed.slice(0, 7)}'.`);
    return `$2b$${hashed.slice(4)}`;
  }
  const argon2 = await loadArgon2();
  // @node-rs/argon2 draws a random 16-byte salt itself (ARGON2ID_PARAMETERS.saltLength).
  return argon2.hash(plain, {
    algorithm: ARGON2_ALGORITHM.argon2id,
    version: ARGON2_VERSION_0X13,
    memoryCost: ARGON2ID_PARAMETERS.memoryCost,
    timeCost: ARGON2ID_PARAMETERS.timeCost,
    parallelism: ARGON2ID_PARAMETERS.parallelism,
    outputLen: ARGON2ID_PARAMETERS.hashLength,
  });
}
