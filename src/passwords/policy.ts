// The hashing policy of fastapi-fullauth 0.15 [core/crypto.py], which this layer must match so
// that a Python and a TypeScript service can verify each other's hashes and agree on rehashing.

/** The algorithms fastapi-fullauth's PASSWORD_HASH_ALGORITHM accepts. */
export const PASSWORD_ALGORITHMS = ['argon2id', 'bcrypt'] as const;
export type PasswordAlgorithm = (typeof PASSWORD_ALGORITHMS)[number];

/** fastapi-fullauth's default PASSWORD_HASH_ALGORITHM. */
export const DEFAULT_PASSWORD_ALGORITHM: PasswordAlgorithm = 'argon2id';

/**
 * argon2-cffi's `PasswordHasher()` defaults since 21.2 (RFC 9106 "low memory" profile), which is
 * what fastapi-fullauth hashes with. Stored as
 * `$argon2id$v=19$m=65536,t=3,p=4$<salt>$<hash>`.
 */
export const ARGON2ID_PARAMETERS = Object.freeze({
  /** Argon2 version 0x13 (`v=19`). */
  version: 19,
  /** Passes over memory (`t=`). */
  timeCost: 3,
  /** KiB of memory per hash, all lanes together (`m=`): 64 MiB. */
  memoryCost: 65536,
  /** Lanes (`p=`). */
  parallelism: 4,
  /** Bytes of output. */
  hashLength: 32,
  /** Bytes of random salt. */
  saltLength: 16,
});

/** The Python bcrypt library's default cost (`gensalt()` rounds), which fastapi-fullauth uses. */
export const BCRYPT_COST = 12;

/**
 * The most work a stored hash may ask of one verification: four times the policy's. A row is
 * not fully trusted where two services share it, and a hash asking for `m=4294967295` (4 TiB)
 * or a bcrypt cost of 31 would hold the process's memory, or libuv's threads, for hours: such
 * a hash verifies as `false`, as a malformed one does (argon2-cffi answers a hash whose memory
 * it cannot allocate so too).
 */
export const VERIFY_LIMITS = Object.freeze({
  /** argon2: KiB of memory (`m=`), 256 MiB. */
  argon2MemoryKiB: 4 * ARGON2ID_PARAMETERS.memoryCost,
  /** argon2: memory × passes (`m=` × `t=`), four times the policy's 64 MiB × 3. */
  argon2MemoryPasses: 4 * ARGON2ID_PARAMETERS.memoryCost * ARGON2ID_PARAMETERS.timeCost,
  /** argon2: lanes (`p=`). */
  argon2Parallelism: 4 * ARGON2ID_PARAMETERS.parallelism,
  /** bcrypt: the cost (2^cost rounds), four times the work of cost 12. */
  bcryptCost: BCRYPT_COST + 2,
});

/** bcrypt reads at most this many bytes of a password; fastapi-fullauth refuses longer ones. */
export const BCRYPT_MAX_PASSWORD_BYTES = 72;

/** Options of `hashPassword()` and `passwordNeedsRehash()`. `null` means left out. */
export interface PasswordAlgorithmOptions {
  /** The policy's algorithm, as fastapi-fullauth's PASSWORD_HASH_ALGORITHM. Default `'argon2id'`. */
  algorithm?: PasswordAlgorithm | null;
}
