import type { Constructor, EntitySchemaProperty } from '@mikro-orm/core';
import { FullauthConfigError } from './errors.js';
import { type FullauthGroup, resolveGroups } from './groups.js';
import { assertIdStrategy, type FullauthIdStrategy } from './ids.js';
import { FULLAUTH_MODEL } from './model.js';
import { assertIdentifier, createNaming, type Naming, type NamingOptions } from './naming.js';

/** A property of the host's own: a MikroORM `p` builder, a function returning one (for relations), or plain options. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- host-defined property options, typed by the caller
export type UserPropertyDefinition = object | (() => object) | EntitySchemaProperty<any, any>;

export interface FullauthUserOptions<P extends Record<string, UserPropertyDefinition> = Record<string, UserPropertyDefinition>> {
  /** Extra typed properties of the user, e.g. `{ displayName: p.string().nullable() }`. */
  properties?: P;
  /** A class of the host's whose instances are the users (methods, getters); it must not redeclare our columns. */
  class?: Constructor<object>;
}

export interface FullauthOptions<P extends Record<string, UserPropertyDefinition> = Record<string, UserPropertyDefinition>>
  extends NamingOptions {
  /** A PostgreSQL schema (e.g. `auth`) for every fullauth table. Default: the connection's. */
  schema?: string;
  /** `uuidv7` (default), `uuidv4` or `bigint` (a database identity). */
  idStrategy?: FullauthIdStrategy;
  /** Extends the user entity. */
  user?: FullauthUserOptions<P>;
  /**
   * Adds the indexes the contract lacks but the store's hot queries need:
   * `ix_<refresh_tokens>_user_id`, `ix_<refresh_tokens>_expires_at`, `ix_<oauth_accounts>_user_id`.
   * Off by default, so the tables stay exactly fastapi-fullauth's.
   */
  performanceIndexes?: boolean;
}

/** Everything the factory needs, validated. */
export interface ResolvedFullauth {
  groups: FullauthGroup[];
  naming: Naming;
  schema: string | undefined;
  idStrategy: FullauthIdStrategy;
  user: { properties: Record<string, UserPropertyDefinition>; class: Constructor<object> | undefined };
  performanceIndexes: boolean;
  /** The options as given, for building the same entities again (metadata, migrations). */
  options: FullauthOptions;
}

const OPTION_KEYS = ['tablePrefix', 'tables', 'schema', 'idStrategy', 'user', 'performanceIndexes'] as const;
const USER_KEYS = ['properties', 'class'] as const;

/** The properties the auth tables rely on: a host property may not take one of these names. */
export const RESERVED_USER_PROPERTIES: readonly string[] = Object.keys(FULLAUTH_MODEL.FullauthUser.properties);

export function resolveFullauth(include: readonly FullauthGroup[] | undefined, options: FullauthOptions = {}): ResolvedFullauth {
  const groups = resolveGroups(include);
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new FullauthConfigError('options must be an object.');
  }
  rejectUnknownKeys(options, OPTION_KEYS, 'option');
  const naming = createNaming(options);
  if (options.schema !== undefined) assertIdentifier(options.schema, 'schema');
  const idStrategy = options.idStrategy ?? 'uuidv7';
  assertIdStrategy(idStrategy);
  const user = options.user ?? {};
  rejectUnknownKeys(user, USER_KEYS, 'user option');
  const properties = user.properties ?? {};
  const clashes = Object.keys(properties).filter((name) => RESERVED_USER_PROPERTIES.includes(name));
  if (clashes.length > 0) {
    throw new FullauthConfigError(
      `user.properties may not redefine ${clashes.map((c) => `'${c}'`).join(', ')}: the auth tables rely on ` +
        `${clashes.length > 1 ? 'them' : 'it'}. Reserved: ${RESERVED_USER_PROPERTIES.join(', ')}.`,
    );
  }
  if (user.class !== undefined && typeof user.class !== 'function') {
    throw new FullauthConfigError('user.class must be a class (a constructor).');
  }
  if (options.performanceIndexes !== undefined && typeof options.performanceIndexes !== 'boolean') {
    throw new FullauthConfigError('performanceIndexes must be true or false.');
  }
  const performanceIndexes = options.performanceIndexes ?? false;
  return { groups, naming, schema: options.schema, idStrategy, user: { properties, class: user.class }, performanceIndexes, options };
}

function rejectUnknownKeys(value: object, valid: readonly string[], what: string): void {
  const unknown = Object.keys(value).filter((key) => !valid.includes(key));
  if (unknown.length > 0) {
    throw new FullauthConfigError(
      `Unknown ${what}${unknown.length > 1 ? 's' : ''}: ${unknown.map((k) => `'${k}'`).join(', ')}. ` +
        `Valid: ${valid.join(', ')}.`,
    );
  }
}
