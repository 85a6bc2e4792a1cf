import { FullauthConfigError, listValues, plural, showValue } from './errors.js';

/** Every model group, in dependency order. */
export const FULLAUTH_GROUPS = ['base', 'role', 'permission', 'oauth', 'passkey'] as const;

export type FullauthGroup = (typeof FULLAUTH_GROUPS)[number];

/** The groups each group needs. `base` is always present, so it is implied everywhere. */
export const GROUP_DEPENDENCIES: { readonly [G in FullauthGroup]: readonly FullauthGroup[] } = {
  base: [],
  role: ['base'],
  permission: ['role'],
  oauth: ['base'],
  passkey: ['base'],
};

/**
 * The groups a given `include` list resolves to at the type level: `base` always, plus
 * every dependency (`permission` brings `role`). Mirrors {@link resolveGroups}.
 */
export type ResolveGroups<G extends FullauthGroup> = 'base' | G | ('permission' extends G ? 'role' : never);

const isGroup = (value: unknown): value is FullauthGroup =>
  typeof value === 'string' && (FULLAUTH_GROUPS as readonly string[]).includes(value);

const validList = FULLAUTH_GROUPS.map((g) => `'${g}'`).join(', ');

/**
 * Validates `include` and closes it over the group dependencies.
 * Returns the groups in {@link FULLAUTH_GROUPS} order. Omitted (or `null`) means every group;
 * `[]` means `base` only. Throws {@link FullauthConfigError} before anything is built.
 */
export function resolveGroups(include?: readonly FullauthGroup[] | null): FullauthGroup[] {
  if (include === undefined || include === null) return [...FULLAUTH_GROUPS];
  if (typeof include === 'string') {
    const shown = showValue(include);
    throw new FullauthConfigError(
      `include must be an array of group names, got the string ${shown}. ` +
        `Wrap it in a list: [${shown}]. Valid groups: ${validList}.`,
    );
  }
  if (!Array.isArray(include)) {
    throw new FullauthConfigError(
      `include must be an array of group names, got ${showValue(include)}. Valid groups: ${validList}.`,
    );
  }
  const unknown = include.filter((g) => !isGroup(g));
  if (unknown.length > 0) {
    throw new FullauthConfigError(
      `Unknown fullauth model group${plural(unknown.length)}: ${listValues(unknown.map(showValue))}. Valid groups: ${validList}.`,
    );
  }
  const wanted = new Set<FullauthGroup>(['base']);
  const visit = (group: FullauthGroup): void => {
    if (wanted.has(group) && group !== 'base') return;
    wanted.add(group);
    GROUP_DEPENDENCIES[group].forEach(visit);
  };
  include.forEach(visit);
  return FULLAUTH_GROUPS.filter((g) => wanted.has(g));
}
