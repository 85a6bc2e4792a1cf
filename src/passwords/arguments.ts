// Every public function checks its arguments at run time: callers in plain JavaScript, or with
// values straight from a request body or a database row, get a typed error naming the argument
// instead of a crash deep inside a native library.
import { showValue } from '../errors.js';
import { PasswordArgumentError } from './errors.js';
import { DEFAULT_PASSWORD_ALGORITHM, PASSWORD_ALGORITHMS, type PasswordAlgorithm, type PasswordAlgorithmOptions } from './policy.js';

/** A lone UTF-16 surrogate: in a `u` regex a proper pair is one code point and does not match. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/** The type of a value, for messages that must never show it (a password). */
const typeOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value);

/**
 * A password: a string of well-formed Unicode. A lone surrogate would reach the native library as
 * U+FFFD (so 'a\uD800' and 'a\uFFFD' would share a hash); Python's `str.encode('utf-8')` refuses it,
 * and so does this layer.
 */
export function readPassword(value: unknown): string {
  if (typeof value !== 'string') {
    throw new PasswordArgumentError('password', `password must be a string, got ${typeOf(value)}.`);
  }
  if (LONE_SURROGATE.test(value)) {
    throw new PasswordArgumentError(
      'password',
      'password is not well-formed Unicode (it holds a lone UTF-16 surrogate) and has no UTF-8 encoding.',
    );
  }
  return value;
}

/** A stored hash: any string (an unreadable one is judged by the caller, never thrown on). */
export function readStoredHash(value: unknown): string {
  if (typeof value !== 'string') {
    throw new PasswordArgumentError(
      'hash',
      `hash must be a string, got ${showValue(value)}${value === null ? ' (a user without a password has no hash to check)' : ''}.`,
    );
  }
  return value;
}

const OPTION_KEYS: readonly string[] = ['algorithm'];

/** `{ algorithm }`, with `null`/`undefined` (the object or the entry) meaning the default. */
export function readAlgorithmOptions(value: unknown): PasswordAlgorithm {
  if (value === undefined || value === null) return DEFAULT_PASSWORD_ALGORITHM;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new PasswordArgumentError('options', `options must be an object (or null / left out), got ${showValue(value)}.`);
  }
  const unknown = Object.keys(value).filter((key) => !OPTION_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new PasswordArgumentError(
      'options',
      `Unknown option ${showValue(unknown[0])}${unknown.length > 1 ? ` and ${unknown.length - 1} more` : ''}. Valid: ${OPTION_KEYS.join(', ')}.`,
    );
  }
  const algorithm = (value as PasswordAlgorithmOptions).algorithm;
  if (algorithm === undefined || algorithm === null) return DEFAULT_PASSWORD_ALGORITHM;
  if (!(PASSWORD_ALGORITHMS as readonly unknown[]).includes(algorithm)) {
    throw new PasswordArgumentError(
      'options.algorithm',
      `options.algorithm must be one of ${PASSWORD_ALGORITHMS.map((a) => `'${a}'`).join(', ')}, got ${showValue(algorithm)}.`,
    );
  }
  return algorithm;
}

/** UTF-8 length without copying the string (it is well-formed: `readPassword` checked). */
export const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');
