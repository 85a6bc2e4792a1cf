import { readFileSync } from 'node:fs';
import type { FullauthGroup } from '../../src/index.js';

const FIXTURE = new URL('../fixtures/fastapi-fullauth-postgres.sql', import.meta.url);

/** The fastapi-fullauth DDL for the given (resolved) groups, from the fixture's sections. */
export function fastapiFullauthDdl(groups: readonly FullauthGroup[]): string {
  const sections = readFileSync(FIXTURE, 'utf8').split(/^-- group: /m).slice(1);
  return sections
    .filter((section) => groups.includes(section.slice(0, section.indexOf('\n')).trim() as FullauthGroup))
    .map((section) => section.slice(section.indexOf('\n') + 1))
    .join('\n');
}
