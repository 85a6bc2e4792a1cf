// E-mail addresses are stored and looked up as fastapi-fullauth stores them:
// Python's `email.strip().lower()`, so one person is one account on both sides.

/**
 * The characters Python's `str.isspace()` accepts (what `str.strip()` removes). JavaScript's
 * `trim()` differs: it keeps U+001C–U+001F and U+0085, and removes U+FEFF, which Python keeps.
 */
const PYTHON_SPACE = '\\t\\n\\v\\f\\r\\u001c-\\u0020\\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const STRIP = new RegExp(`^[${PYTHON_SPACE}]+|[${PYTHON_SPACE}]+$`, 'gu');

/** `email.strip().lower()` with Python's semantics (both lower-case with the full Unicode mapping). */
export const normalizeEmail = (email: string): string => email.replace(STRIP, '').toLowerCase();
