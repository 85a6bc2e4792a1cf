import type { FullauthDialect } from '../dialects.js';

/** How each database quotes an identifier, with the quote character doubled inside. */
const QUOTES = {
  postgresql: '"',
  mysql: '`',
  sqlite: '"',
} as const satisfies Record<FullauthDialect, string>;

/** `name` as a quoted identifier of `dialect`: any character, the quote included, stays part of the name. */
export function quoteIdentifier(dialect: FullauthDialect, name: string): string {
  const quote = QUOTES[dialect];
  return `${quote}${name.split(quote).join(quote + quote)}${quote}`;
}
