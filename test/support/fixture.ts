import { readFileSync } from 'node:fs';
import type { FullauthGroup } from '../../src/index.js';

export type FixtureDialect = 'postgres' | 'mysql' | 'sqlite';

/** The fastapi-fullauth DDL for the given (resolved) groups, from the fixture's sections. */
export function fastapiFullauthDdl(groups: readonly FullauthGroup[], dialect: FixtureDialect = 'postgres'): string {
  const fixture = new URL(`../fixtures/fastapi-fullauth-${dialect}.sql`, import.meta.url);
  const sections = readFileSync(fixture, 'utf8').split(/^-- group: /m).slice(1);
  return sections
    .filter((section) => groups.includes(section.slice(0, section.indexOf('\n')).trim() as FullauthGroup))
    .map((section) => section.slice(section.indexOf('\n') + 1))
    .join('\n');
}

/** The group combinations the contract suites compare, each with a label for the test title. */
export const GROUP_VARIANTS: readonly { label: string; include?: FullauthGroup[] }[] = [
  { label: 'all groups' },
  { label: 'base only', include: [] },
  { label: 'role', include: ['role'] },
  { label: 'permission', include: ['permission'] },
  { label: 'oauth', include: ['oauth'] },
  { label: 'passkey', include: ['passkey'] },
];
