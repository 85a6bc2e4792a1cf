import { VERIFY_LIMITS } from './policy.js';

// Reading stored hash strings, with no library: `passwordNeedsRehash()` is synchronous, and a
// hash the Python side would refuse must be refused here before a native library, with its own,
// more lenient parser, gets to accept it.

export type Argon2Variant = 'argon2id' | 'argon2i' | 'argon2d';
export type BcryptPrefix = '2a' | '2b' | '2y';

/** What an argon2 PHC string says about how it was made. */
export interface Argon2HashInfo {
  scheme: 'argon2';
  variant: Argon2Variant;
  /** 19 (0x13), or 16 (0x10) for hashes with `v=16` or without a `v=` field. */
  version: 16 | 19;
  memoryCost: number;
  timeCost: number;
  parallelism: number;
  saltLength: number;
  hashLength: number;
}

/** What a bcrypt string says about how it was made. */
export interface BcryptHashInfo {
  scheme: 'bcrypt';
  prefix: BcryptPrefix;
  cost: number;
}

/**
 * The scheme a stored hash is routed to, decided by its prefix exactly as fastapi-fullauth's
 * `verify_password` does: `$2a$`/`$2b$`/`$2y$` to bcrypt, argon2-cffi's three headers to argon2,
 * anything else to neither (argon2-cffi raises InvalidHash there, which fastapi-fullauth turns
 * into `False`).
 */
export function schemeOf(hash: string): 'argon2' | 'bcrypt' | null {
  if (/^\$2[aby]\$/.test(hash)) return 'bcrypt';
  // argon2-cffi looks at the first 9 characters: '$argon2i$', '$argon2d$', '$argon2id'.
  const header = hash.slice(0, 9);
  return header === '$argon2i$' || header === '$argon2d$' || header === '$argon2id' ? 'argon2' : null;
}

// libargon2's decode_string(), which argon2-cffi verifies with: fields in this order, `v=` optional
// (absent means 0x10), decimals without leading zeros, standard base64 without padding.
const DECIMAL = '(0|[1-9][0-9]{0,19})';
const ARGON2 = new RegExp(
  `^\\$(argon2id|argon2i|argon2d)(?:\\$v=${DECIMAL})?\\$m=${DECIMAL},t=${DECIMAL},p=${DECIMAL}\\$([A-Za-z0-9+/]*)\\$([A-Za-z0-9+/]*)$`,
);
const UINT32_MAX = 2 ** 32 - 1;

/**
 * Bytes of unpadded base64, or null where libargon2's from_base64() fails: a length of 1 mod 4,
 * or non-zero bits left over in the last character (a non-canonical encoding).
 */
function base64Bytes(text: string): number | null {
  const rest = text.length % 4;
  if (rest === 1) return null;
  const unused = rest === 2 ? 4 : rest === 3 ? 2 : 0;
  if (unused > 0) {
    const last = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.indexOf(text[text.length - 1]!);
    if ((last & ((1 << unused) - 1)) !== 0) return null;
  }
  return Math.floor((text.length * 3) / 4);
}

/** An argon2 PHC string as libargon2 would accept it, or null. */
export function parseArgon2(hash: string): Argon2HashInfo | null {
  const match = ARGON2.exec(hash);
  if (!match) return null;
  const [, variant, v, m, t, p, salt, output] = match;
  const version = v === undefined ? 16 : Number(v);
  const memoryCost = Number(m);
  const timeCost = Number(t);
  const parallelism = Number(p);
  const saltLength = base64Bytes(salt!);
  const hashLength = base64Bytes(output!);
  // libargon2's validate_inputs(), and its 32-bit fields; versions other than 0x10/0x13 were never made.
  if (version !== 16 && version !== 19) return null;
  if (saltLength === null || saltLength < 8 || hashLength === null || hashLength < 4) return null;
  if (timeCost < 1 || timeCost > UINT32_MAX || parallelism < 1 || parallelism > 0xffffff) return null;
  if (memoryCost < 8 * parallelism || memoryCost > UINT32_MAX) return null;
  return { scheme: 'argon2', variant: variant as Argon2Variant, version, memoryCost, timeCost, parallelism, saltLength, hashLength };
}

// The only form Python's bcrypt (3.x to 5.x) ever accepts: `checkpw` recomputes the hash and
// compares the whole string, and the recomputed one is canonical — cost 04..31 in two digits,
// a 22-character salt whose last character carries no stray bits (., O, e or u), a 31-character
// hash whose last character carries none either.
const BCRYPT = /^\$(2[aby])\$(0[4-9]|[12][0-9]|3[01])\$[./A-Za-z0-9]{21}[.Oeu][./A-Za-z0-9]{30}[.CGKOSWaeimquy26]$/;

/** A bcrypt string in the canonical form Python's bcrypt accepts, or null. */
export function parseBcrypt(hash: string): BcryptHashInfo | null {
  const match = BCRYPT.exec(hash);
  return match ? { scheme: 'bcrypt', prefix: match[1] as BcryptPrefix, cost: Number(match[2]) } : null;
}

/** A stored hash as one of the two schemes, or null when it is neither (or malformed). */
export function parseStoredHash(hash: string): Argon2HashInfo | BcryptHashInfo | null {
  const scheme = schemeOf(hash);
  return scheme === 'bcrypt' ? parseBcrypt(hash) : scheme === 'argon2' ? parseArgon2(hash) : null;
}

/** Whether a readable hash asks more work of a verification than `VERIFY_LIMITS` allows. */
export function beyondVerifyLimits(info: Argon2HashInfo | BcryptHashInfo): boolean {
  if (info.scheme === 'bcrypt') return info.cost > VERIFY_LIMITS.bcryptCost;
  return (
    info.memoryCost > VERIFY_LIMITS.argon2MemoryKiB ||
    info.memoryCost * info.timeCost > VERIFY_LIMITS.argon2MemoryPasses ||
    info.parallelism > VERIFY_LIMITS.argon2Parallelism
  );
}
