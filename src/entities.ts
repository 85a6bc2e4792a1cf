import { buildEntitySchemas } from './build-schema.js';
import { type FullauthGroup, type ResolveGroups, resolveGroups } from './groups.js';
import type { FullauthEntities } from './types.js';

/**
 * EntitySchemas of the chosen model groups, fresh on every call.
 *
 * - omitted `include`: every group; `[]`: `base` only (it is always included);
 * - dependencies are added (`['permission']` brings `role`);
 * - an unknown name, or a bare string, throws a `FullauthConfigError` before anything is built.
 *
 * @example
 * const auth = defineFullauthEntities(['base', 'role']);
 * defineConfig({ entities: [...auth, Article] }); // Article.author → auth.FullauthUser
 */
export function defineFullauthEntities(): FullauthEntities<FullauthGroup>;
export function defineFullauthEntities<const I extends readonly FullauthGroup[]>(
  include: I,
): FullauthEntities<ResolveGroups<I[number]>>;
export function defineFullauthEntities(include?: readonly FullauthGroup[]): FullauthEntities<FullauthGroup>;
export function defineFullauthEntities(include?: readonly FullauthGroup[]): FullauthEntities<FullauthGroup> {
  const schemas = buildEntitySchemas(resolveGroups(include));
  const list = [...schemas.values()];
  for (const [name, schema] of schemas) {
    Object.defineProperty(list, name, { value: schema, enumerable: false });
  }
  return list as unknown as FullauthEntities<FullauthGroup>;
}
