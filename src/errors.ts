/**
 * Raised for invalid fullauth configuration (an unknown group, a bare string where a list
 * is expected, ...). It is always thrown before any schema is built or registered.
 */
export class FullauthConfigError extends Error {
  override name = 'FullauthConfigError';
}

/** At most this many offending values are named in one message; the rest are counted. */
export const MAX_LISTED_VALUES = 5;
/** A value longer than this is cut in a message (a 1 MB string must not make a 1 MB error). */
const MAX_SHOWN_LENGTH = 64;

const clip = (text: string): string => (text.length > MAX_SHOWN_LENGTH ? `${text.slice(0, MAX_SHOWN_LENGTH - 1)}…` : text);

/** The first few items and how many were left out. Every list of offending values in a message goes through here. */
function cap(items: readonly string[]): { shown: readonly string[]; rest: number } {
  const shown = items.slice(0, MAX_LISTED_VALUES);
  return { shown, rest: items.length - shown.length };
}

/** Offending values, already formatted, on one line: `'a', 'b', 'c', 'd', 'e' and 99995 more`. */
export function listValues(values: readonly string[]): string {
  const { shown, rest } = cap(values);
  return rest > 0 ? `${shown.join(', ')} and ${rest} more` : shown.join(', ');
}

/** Offending items one per line (`  - item`), with a last line counting the ones left out. */
export function listLines(items: readonly string[]): string {
  const { shown, rest } = cap(items);
  return [...shown, ...(rest > 0 ? [`and ${rest} more`] : [])].map((item) => `  - ${item}`).join('\n');
}

/** One value as a message shows it: `'text'` (cut when long), `null`, `an array`, `an object`, `number 3`. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return `'${clip(value)}'`;
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  return typeof value === 'object' ? 'an object' : clip(`${typeof value} ${String(value)}`);
}

/** `s` when a message speaks of several values. */
export const plural = (count: number): string => (count > 1 ? 's' : '');
