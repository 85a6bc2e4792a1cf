import type { Constructor } from '@mikro-orm/core';
import { buildEntitySchemas } from './build-schema.js';
import type { FullauthGroup, ResolveGroups } from './groups.js';
import { type FullauthOptions, type UserPropertyDefinition, resolveFullauth } from './options.js';
import type { FullauthEntities, NoExtension, UserExtension } from './types.js';

type UserProperties = Record<string, UserPropertyDefinition>;

/**
 * EntitySchemas of the chosen model groups, fresh on every call.
 *
 * - omitted (or `null`) `include`: every group; `[]`: `base` only (it is always included);
 * - dependencies are added (`['permission']` brings `role`);
 * - `options` rename or place the tables, choose the id strategy, extend the user;
 * - an option left out or `null` takes its default;
 * - bad input throws a `FullauthConfigError` before anything is built.
 *
 * Call it once per ORM, in a module of its own that the config and the application both
 * import: an ORM refuses the entities of another call with a `FullauthConfigError`
 * (docs/getting-started.md#one-set-of-entities).
 *
 * @example
 * const auth = defineFullauthEntities(['base', 'role']);
 * defineConfig({ entities: [...auth, Article] }); // Article.author → auth.FullauthUser
 */
export function defineFullauthEntities(): FullauthEntities<FullauthGroup>;
export function defineFullauthEntities<const I extends readonly FullauthGroup[]>(
  include: I,
): FullauthEntities<ResolveGroups<I[number]>>;
export function defineFullauthEntities<
  const I extends readonly FullauthGroup[] | null | undefined,
  const P extends UserProperties = NoExtension,
  C extends Constructor<object> = Constructor<NoExtension>,
>(
  include: I,
  options: FullauthOptions<P> & { user?: { properties?: P; class?: C } },
): FullauthEntities<I extends readonly FullauthGroup[] ? ResolveGroups<I[number]> : FullauthGroup, UserExtension<P, C>>;
export function defineFullauthEntities(
  include?: readonly FullauthGroup[] | null,
  options?: FullauthOptions | null,
): FullauthEntities<FullauthGroup>;
// The implementation returns `unknown` so that TypeScript does not compare every overload's
// deep entity types with it (that comparison alone took half a minute of type-checking).
export function defineFullauthEntities(include?: readonly FullauthGroup[] | null, options?: FullauthOptions | null): unknown {
  const schemas = buildEntitySchemas(resolveFullauth(include, options));
  const list = [...schemas.values()];
  for (const [name, schema] of schemas) {
    Object.defineProperty(list, name, { value: schema, enumerable: false });
  }
  return list;
}
