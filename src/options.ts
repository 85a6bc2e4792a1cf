import type { Constructor, EntitySchemaProperty } from '@mikro-orm/core';
import { FullauthConfigError, listValues, showValue } from './errors.js';
import { type FullauthGroup, resolveGroups } from './groups.js';
import { assertIdStrategy, type FullauthIdStrategy } from './ids.js';
import { FULLAUTH_MODEL } from './model.js';
import { assertIdentifier, createNaming, type Naming, type NamingOptions } from './naming.js';
import { assertOptionalBoolean, readOptions, rejectUnknownKeys, type GivenOptions } from './read-options.js';

/** A property of the host's own: a MikroORM `p` builder, a function returning one (for relations), or plain options. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- host-defined property options, typed by the caller
export type UserPropertyDefinition = object | (() => object) | EntitySchemaProperty<any, any>;

export interface FullauthUserOptions<P extends Record<string, UserPropertyDefinition> = Record<string, UserPropertyDefinition>> {
  /** Extra typed properties of the user, e.g. `{ displayName: p.string().nullable() }`. */
  properties?: P | null;
  /** A class of the host's whose instances are the users (methods, getters); it must not redeclare our columns. */
  class?: Constructor<object> | null;
}

/**
 * Every option may be left out or set to `null`: both mean "the default" (docs/customisation.md).
 */
export interface FullauthOptions<P extends Record<string, UserPropertyDefinition> = Record<string, UserPropertyDefinition>>
  extends NamingOptions {
  /** A PostgreSQL schema (e.g. `auth`) for every fullauth table. Default: the connection's. */
  schema?: string | null;
  /** `uuidv7` (default), `uuidv4` or `bigint` (a database identity). */
  idStrategy?: FullauthIdStrategy | null;
  /** Extends the user entity. */
  user?: FullauthUserOptions<P> | null;
  /**
   * Adds the indexes the contract lacks but the store's hot queries need:
   * `ix_<refresh_tokens>_user_id`, `ix_<refresh_tokens>_expires_at`, `ix_<oauth_accounts>_user_id`.
   * Off by default, so the tables stay exactly fastapi-fullauth's.
   */
  performanceIndexes?: boolean | null;
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

export function resolveFullauth(include: readonly FullauthGroup[] | null | undefined, options?: GivenOptions<FullauthOptions>): ResolvedFullauth {
  const groups = resolveGroups(include);
  const given = readOptions(options, 'options');
  rejectUnknownKeys(given, OPTION_KEYS, 'option');
  const naming = createNaming(given);
  if (given.schema !== undefined) assertIdentifier(given.schema, 'schema');
  const idStrategy = given.idStrategy ?? 'uuidv7';
  assertIdStrategy(idStrategy);
  const user = readOptions(given.user, 'user');
  rejectUnknownKeys(user, USER_KEYS, 'user option');
  const properties = readUserProperties(user.properties);
  if (user.class !== undefined && typeof user.class !== 'function') {
    throw new FullauthConfigError(`user.class must be a class (a constructor), got ${showValue(user.class)}.`);
  }
  assertOptionalBoolean(given.performanceIndexes, 'performanceIndexes');
  const performanceIndexes = given.performanceIndexes ?? false;
  return {
    groups,
    naming,
    schema: given.schema,
    idStrategy,
    user: { properties, class: user.class },
    performanceIndexes,
    options: given,
  };
}

const PROPERTY_KINDS =
  "a MikroORM property builder (p.string().nullable()), a function returning one (() => p.manyToOne(Tenant), for relations) " +
  "or a property options object ({ type: 'string', nullable: true })";

/** `user.properties`: an object whose every entry is a property definition MikroORM can read, none of them ours. */
function readUserProperties(value: unknown): Record<string, UserPropertyDefinition> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FullauthConfigError(
      `user.properties must be an object mapping property names to definitions, got ${showValue(value)}. Each definition is ${PROPERTY_KINDS}.`,
    );
  }
  const entries = Object.entries(value);
  const invalid = entries.filter(([, definition]) => !isPropertyDefinition(definition));
  if (invalid.length > 0) {
    throw new FullauthConfigError(
      `user.properties: ${listValues(invalid.map(([name, definition]) => `${showValue(name)} is ${showValue(definition)}`))}; ` +
        `each definition must be ${PROPERTY_KINDS}.`,
    );
  }
  const clashes = entries.map(([name]) => name).filter((name) => RESERVED_USER_PROPERTIES.includes(name));
  if (clashes.length > 0) {
    throw new FullauthConfigError(
      `user.properties may not redefine ${listValues(clashes.map(showValue))}: the auth tables rely on ` +
        `${clashes.length > 1 ? 'them' : 'it'}. Reserved: ${RESERVED_USER_PROPERTIES.join(', ')}.`,
    );
  }
  return value as Record<string, UserPropertyDefinition>;
}

/**
 * What MikroORM can read as a property: a `p` builder (its options under `~options`), a
 * function (a relation, resolved lazily so that it can name a later entity) or an options object.
 */
function isPropertyDefinition(value: unknown): boolean {
  if (typeof value === 'function') return true;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  if ('~options' in value) return typeof value['~options'] === 'object' && value['~options'] !== null;
  return true;
}
