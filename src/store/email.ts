// E-mail addresses are stored and looked up as fastapi-fullauth stores them:
// Python's `email.strip().lower()`, so one person is one account on both sides.

/**
 * The characters Python's `str.isspace()` accepts (what `str.strip()` removes). JavaScript's
 * `trim()` differs: it keeps U+001C–U+001F and U+0085, and removes U+FEFF, which Python keeps.
 * All are in the BMP, so one UTF-16 unit each.
 */
const PYTHON_SPACE = new Set<number>([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680,
  0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000,
]);

/**
 * `email.strip().lower()` with Python's semantics (both lower-case with the full Unicode
 * mapping). Linear in the length: the ends are scanned once (a regex ending in `\s+$` would
 * backtrack over every inner run of spaces, quadratic on hostile input).
 */
export function normalizeEmail(email: string): string {
  let start = 0;
  let end = email.length;
  while (start < end && PYTHON_SPACE.has(email.charCodeAt(start))) start++;
  while (end > start && PYTHON_SPACE.has(email.charCodeAt(end - 1))) end--;
  return email.slice(start, end).toLowerCase();
}
