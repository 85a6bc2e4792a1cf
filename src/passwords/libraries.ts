// The native hashing libraries are optional peer dependencies: a service that only uses argon2id
// does not install bcrypt, and importing this package must not fail for lack of either. Each is
// loaded with a dynamic import() on first use and kept.
import { PasswordLibraryMissingError, type PasswordLibrary } from './errors.js';

/**
 * The part of @node-rs/argon2 this layer calls. Its `Algorithm` and `Version` are `const enum`s:
 * declared in its types but empty objects at run time, so the numbers are written out here.
 */
export interface Argon2Library {
  hash(
    password: string,
    options: { algorithm: number; version: number; memoryCost: number; timeCost: number; parallelism: number; outputLen: number },
  ): Promise<string>;
  verify(hashed: string, password: string): Promise<boolean>;
}
/** `Algorithm.Argon2id`, `Algorithm.Argon2i`, `Algorithm.Argon2d` and `Version.V0x13` of @node-rs/argon2. */
export const ARGON2_ALGORITHM = { argon2id: 2, argon2i: 1, argon2d: 0 } as const;
export const ARGON2_VERSION_0X13 = 1;

/** The part of @node-rs/bcrypt 1.10 (`hash(password, cost)`, written as `$2y$`) this layer calls. */
export interface BcryptLibrary {
  hash(password: string, cost: number): Promise<string>;
  verify(password: string, hash: string): Promise<boolean>;
}

/** Imports `name`; a missing package (or native binary) becomes a PasswordLibraryMissingError. */
export async function loadOptionalPeer<T>(name: PasswordLibrary, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    // Node names the package it could not find, in quotes ('@node-rs/argon2', not the
    // '@node-rs/argon2-linux-x64-gnu' binary package); anything else means it is there but broken.
    const missing = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((error as Error).message).includes(`'${name}'`);
    throw new PasswordLibraryMissingError(name, !missing, { cause: error });
  }
}

/** One load per process; a failure is not kept, so a later call tries again. */
function cached<T>(name: PasswordLibrary, load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= loadOptionalPeer(name, load).catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

export const loadArgon2 = cached<Argon2Library>('@node-rs/argon2', async () => {
  const library: Argon2Library = await import('@node-rs/argon2');
  return library;
});

export const loadBcrypt = cached<BcryptLibrary>('@node-rs/bcrypt', async () => {
  const library: BcryptLibrary = await import('@node-rs/bcrypt');
  return library;
});
