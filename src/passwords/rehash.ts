import { readAlgorithmOptions, readStoredHash } from './arguments.js';
import { beyondVerifyLimits, parseStoredHash, type Argon2HashInfo } from './formats.js';
import { ARGON2ID_PARAMETERS, BCRYPT_COST, type PasswordAlgorithmOptions } from './policy.js';

/**
 * Whether a stored hash is weaker than the policy, so that a successful login should store a
 * fresh `hashPassword(password, options)`. Synchronous, and loads no library.
 * - an argon2 hash is judged against the argon2id parameters whatever the algorithm (as
 *   fastapi-fullauth's `check_needs_rehash`): another variant, version 0x10, or any of memory,
 *   time, lanes, hash or salt length below them → `true`;
 * - a bcrypt hash → `true` when the policy is argon2id; under bcrypt, when its cost is below 12;
 * - a hash it cannot read (malformed, another scheme) → `true`: it is not known to meet the
 *   policy (it cannot have passed `verifyPassword()` either).
 *
 * Unlike fastapi-fullauth, a hash stronger than the policy is kept (argon2-cffi's
 * `check_needs_rehash` is true for any difference), and a bcrypt hash below cost 12 is upgraded
 * under the bcrypt policy (fastapi-fullauth keeps any bcrypt hash there). Neither makes the two
 * services rewrite each other's hashes back and forth: both write exactly the policy's parameters.
 * @throws PasswordArgumentError
 */
export function passwordNeedsRehash(hash: string, options?: PasswordAlgorithmOptions | null): boolean {
  const stored = readStoredHash(hash);
  const algorithm = readAlgorithmOptions(options);
  const info = parseStoredHash(stored);
  // Unreadable, or beyond what verifyPassword() computes: no login can succeed on it.
  if (info === null || beyondVerifyLimits(info)) return true;
  if (info.scheme === 'bcrypt') return algorithm !== 'bcrypt' || info.cost < BCRYPT_COST;
  return weakerThanArgon2id(info);
}

function weakerThanArgon2id(info: Argon2HashInfo): boolean {
  const policy = ARGON2ID_PARAMETERS;
  return (
    info.variant !== 'argon2id' ||
    info.version < policy.version ||
    info.memoryCost < policy.memoryCost ||
    info.timeCost < policy.timeCost ||
    info.parallelism < policy.parallelism ||
    info.hashLength < policy.hashLength ||
    info.saltLength < policy.saltLength
  );
}
