import { FullauthConfigError, listValues, plural, showValue } from './errors.js';

/** What an options argument may be before it is read: `null` and `undefined` mean "none given". */
export type GivenOptions<T extends object> = T | null | undefined;

/** Options once read: no entry is `null` any more (a `null` entry was dropped). */
export type ReadOptions<T extends object> = { [K in keyof T]?: Exclude<T[K], null> };

/**
 * Reads an options object the one way every public entry point does:
 * - `null` or `undefined` (the whole object, or any of its entries) is the same as leaving it
 *   out, so the default applies — one meaning of `null` everywhere (docs/customisation.md);
 * - anything else that is not a plain object (a string, a number, an array, a function) is a
 *   `FullauthConfigError` naming `what`.
 * Returns a copy without the null and undefined entries.
 */
export function readOptions<T extends object>(value: GivenOptions<T>, what: string): ReadOptions<T> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new FullauthConfigError(`${what} must be an object (or null / left out for the defaults), got ${showValue(value)}.`);
  }
  const entries = Object.entries(value).filter(([, entry]) => entry !== undefined && entry !== null);
  return Object.fromEntries(entries) as ReadOptions<T>;
}

/** Fails on any key outside `valid`, naming the first few (an error stays short however many there are). */
export function rejectUnknownKeys(value: object, valid: readonly string[], what: string): void {
  const unknown = Object.keys(value).filter((key) => !valid.includes(key));
  if (unknown.length > 0) {
    throw new FullauthConfigError(`Unknown ${what}${plural(unknown.length)}: ${listValues(unknown.map(showValue))}. Valid: ${valid.join(', ')}.`);
  }
}

/** A yes/no option: `true`, `false`, or left out (`null`, `undefined`). */
export function assertOptionalBoolean(value: unknown, what: string): asserts value is boolean | undefined {
  if (value !== undefined && typeof value !== 'boolean') {
    throw new FullauthConfigError(`${what} must be true or false, got ${showValue(value)}.`);
  }
}
