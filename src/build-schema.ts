import { EntitySchema } from '@mikro-orm/core';
import type { Constructor, EntitySchemaMetadata, EntitySchemaProperty, IndexCallback } from '@mikro-orm/core';
import type { FullauthGroup } from './groups.js';
import { createDialectSlot, type DialectSlot, FullauthBooleanType, FullauthTimestampType, FullauthUuidType, FullauthVarcharType, type ReferencePolicy } from './column-types.js';
import { unsupportedOn, type FullauthDialect } from './dialects.js';
import { idProperty } from './ids.js';
import { FullauthConfigError } from './errors.js';
import { fitIdentifier } from './naming.js';
import { MIKRO_ORM_6 } from './orm-compat.js';
import { FULLAUTH_MODEL } from './model.js';
import type { ResolvedFullauth, UserPropertyDefinition } from './options.js';
import { FULLAUTH_ENTITY_NAMES, type FullauthEntityName, type PropertySpec, type TableSpec } from './spec.js';

/** Untyped on purpose: the precise entity types are applied at the public boundary (types.ts). */
type AnySchema = EntitySchema;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- internal: see above
type AnyProperty = EntitySchemaProperty<any, any>;
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyEntity = any;
type IndexDef = { name: string; properties: string[]; expression?: IndexCallback<Record<string, unknown>> };

/** The group each entity belongs to. */
export const groupOf = (name: FullauthEntityName): FullauthGroup => FULLAUTH_MODEL[name].group;

/** Entity names of the given (already resolved) groups, in declaration order. */
export const entityNamesOf = (groups: readonly FullauthGroup[]): FullauthEntityName[] =>
  FULLAUTH_ENTITY_NAMES.filter((name) => groups.includes(groupOf(name)));

/** Which definition built an entity class: lets the extension and helpers find the options again. */
const definitions = new WeakMap<object, ResolvedFullauth>();

/** The definition behind an entity class built here (undefined for any other class). */
export const definitionOf = (entityClass: unknown): ResolvedFullauth | undefined =>
  typeof entityClass === 'function' ? definitions.get(entityClass) : undefined;

/**
 * Builds fresh EntitySchemas for a resolved definition. Each call makes new schemas and
 * classes, and relations point only at schemas of the same call, so two calls never share
 * state. Naming, schema and id policy are applied here and nowhere else.
 */
export function buildEntitySchemas(definition: ResolvedFullauth): Map<FullauthEntityName, AnySchema> {
  const { naming } = definition;
  const names = entityNamesOf(definition.groups);
  const schemas = new Map<FullauthEntityName, AnySchema>();
  const target = (name: FullauthEntityName) => (): AnySchema => schemas.get(name)!;
  const included = (name: FullauthEntityName): boolean => names.includes(name);
  // The dialect is known only at discovery: column types record it here for the index DDL.
  const slot = createDialectSlot((dialect) => {
    // MikroORM places and introspects tables of another schema on PostgreSQL only.
    if (definition.schema && dialect !== 'postgresql') throw unsupportedOn(dialect, "The 'schema' option", ['postgresql']);
  });
  // Stateless apart from the slot: one instance of each serves every column of the call.
  const columnTypes: ColumnTypes = {
    varchar: new FullauthVarcharType(slot),
    boolean: new FullauthBooleanType(slot),
    timestamp: new FullauthTimestampType(slot),
  };

  for (const name of names) {
    const spec: TableSpec = FULLAUTH_MODEL[name];
    const table = naming.table(name);
    const properties: Record<string, AnyProperty> = {};
    const indexes: IndexDef[] = [];
    const uniques: IndexDef[] = [];

    const references = Object.entries(spec.properties).filter(([, column]) => column.type === 'ref');
    const leadingKey = references.find(([, column]) => column.type === 'ref' && column.primary)?.[0];
    for (const [property, column] of Object.entries(spec.properties)) {
      if (!relationIncluded(column, included)) continue;
      const field = column.type === 'ref' ? naming.referenceColumn(property) : naming.column(property);
      const indexed =
        'index' in column && (column.index === true || (column.index === 'performance' && definition.performanceIndexes));
      if (column.type === 'id') {
        properties[property] = idProperty(definition.idStrategy, field, slot);
      } else if (column.type === 'ref') {
        const position = references.findIndex(([name]) => name === property) + 1;
        const policy = referencePolicy({
          postgresqlName: naming.foreignKey(table, field),
          mysqlName: fitIdentifier(`${table}_ibfk_${position}`),
          field,
          ownIndex: indexed,
          leadsPrimaryKey: property === leadingKey,
        });
        properties[property] = referenceProperty(column, field, policy, definition, slot, target);
      } else {
        properties[property] = toProperty(column, field, columnTypes, target);
      }
      if ('unique' in column && column.unique) {
        uniques.push(uniqueIndex(naming.index(table, field), property, field, slot));
      }
      if (indexed) indexes.push({ name: naming.index(table, field), properties: [property] });
    }
    for (const constraint of spec.uniqueConstraints ?? []) {
      const constraintName = naming.uniqueConstraint(name, table, constraint.name, constraint.key);
      uniques.push({ name: constraintName, properties: [...constraint.properties] });
    }
    if (name === 'FullauthUser') Object.assign(properties, hostProperties(definition.user.properties));

    const entityClass = namedClass(name, name === 'FullauthUser' ? definition.user.class : undefined);
    definitions.set(entityClass, definition);
    const metadata: EntitySchemaMetadata<AnyEntity> = {
      class: entityClass,
      tableName: table,
      ...(definition.schema ? { schema: definition.schema } : {}),
      properties,
      indexes,
      uniques,
    };
    const schema = new EntitySchema(metadata);
    if (!MIKRO_ORM_6) guardForeignUse(schema, entityClass, name);
    schemas.set(name, schema);
  }
  return schemas;
}

/**
 * The error for an entity of one `defineFullauthEntities()` call used with a MikroORM instance
 * configured with another call's (or with none): each call makes its own classes, and MikroORM
 * knows only those it discovered.
 */
export function foreignEntityError(name: string): FullauthConfigError {
  return new FullauthConfigError(
    `${name} was used with a MikroORM instance that did not discover it: it comes from another ` +
      'defineFullauthEntities() call than the entities in the ORM\'s config (each call makes new entity classes). ' +
      'Call defineFullauthEntities() once, in a module of its own (e.g. src/entities.ts), and import that ' +
      'module both in mikro-orm.config.ts and in the application code. See docs/getting-started.md#one-set-of-entities.',
  );
}

/**
 * MikroORM 7 resolves an EntitySchema it did not discover to the schema's own, undiscovered
 * metadata and then fails deep inside (`Cannot set properties of undefined (setting
 * '__schema')`). That metadata and the class prototype are only ever read in that case:
 * discovery copies the metadata (own enumerable keys only), and decorates the prototype of
 * every class it discovered, replacing the accessors set here. So reading what discovery
 * would have set names the cause instead.
 */
function guardForeignUse(schema: AnySchema, entityClass: Constructor<object>, name: string): void {
  const fail = (): never => {
    throw foreignEntityError(name);
  };
  const raw = schema.meta as unknown as object;
  for (const key of ['relations', 'comparableProps', 'hydrateProps', 'trackingProps', 'bidirectionalRelations']) {
    if (Object.hasOwn(raw, key)) continue;
    Object.defineProperty(raw, key, {
      configurable: true,
      enumerable: false,
      get: fail,
      // EntitySchema.init() assigns them: from then on they are plain values.
      set(value: unknown) {
        Object.defineProperty(this, key, { value, writable: true, configurable: true, enumerable: true });
      },
    });
  }
  // `helper(entity)` reads `__helper`, which MikroORM defines on the prototypes it discovered.
  Object.defineProperty(entityClass.prototype, '__helper', { configurable: true, enumerable: false, get: fail });
}

/** A fresh class named after the entity (MikroORM takes the entity name from it), optionally the host's subclass. */
function namedClass(name: string, base: Constructor<object> | undefined): Constructor<object> {
  const Base = base ?? class {};
  return { [name]: class extends Base {} }[name]!;
}

/** MikroORM `p` builders carry their options under `~options`; functions (relations) are resolved lazily. */
function hostProperties(definitions: Record<string, UserPropertyDefinition>): Record<string, AnyProperty> {
  const options = (value: unknown): AnyProperty =>
    (typeof value === 'object' && value !== null && '~options' in value ? value['~options'] : value) as AnyProperty;
  const properties: Record<string, AnyProperty> = {};
  for (const [key, definition] of Object.entries(definitions)) {
    if (typeof definition === 'function') {
      let resolved: AnyProperty | undefined;
      Object.defineProperty(properties, key, { enumerable: true, get: () => (resolved ??= options(definition())) });
    } else {
      properties[key] = options(definition);
    }
  }
  return properties;
}

function relationIncluded(spec: PropertySpec, included: (name: FullauthEntityName) => boolean): boolean {
  switch (spec.type) {
    case 'ref':
    case 'collection':
      return included(spec.target);
    case 'manyToMany':
      return included(spec.target) && included(spec.pivot);
    default:
      return true;
  }
}

/**
 * Constraint and index names of a reference column per dialect, as each database names them
 * for fastapi-fullauth: PostgreSQL `<table>_<column>_fkey`; MySQL `<table>_ibfk_<n>` in
 * declaration order, plus InnoDB's index named after the column where no index covers it;
 * SQLite keeps no constraint names (MikroORM's own name is what it reads back) and no
 * implicit indexes. "No ON UPDATE rule" reads NO ACTION on PostgreSQL and SQLite, RESTRICT on MySQL.
 */
function referencePolicy(reference: {
  postgresqlName: string;
  mysqlName: string;
  field: string;
  /** An index of its own is declared on the entity (`ix_…`). */
  ownIndex: boolean;
  leadsPrimaryKey: boolean;
}): ReferencePolicy {
  // `false` stops MikroORM adding an index of its own.
  return {
    postgresql: { foreignKeyName: reference.postgresqlName, index: false, updateRule: 'no action' },
    // The ON UPDATE rule is the server's (MariaDB or MySQL): column-types.ts.
    mysql: { foreignKeyName: reference.mysqlName, index: reference.ownIndex || reference.leadsPrimaryKey ? false : reference.field },
    sqlite: { foreignKeyName: undefined, index: false, updateRule: 'no action' },
  } satisfies Record<FullauthDialect, unknown>;
}

/** Many-to-one: column `<property>_id`, `ON DELETE CASCADE`, no ON UPDATE rule; typed like the key it points at. */
function referenceProperty(
  spec: Extract<PropertySpec, { type: 'ref' }>,
  fieldName: string,
  policy: ReferencePolicy,
  definition: ResolvedFullauth,
  slot: DialectSlot,
  target: (name: FullauthEntityName) => () => AnySchema,
): AnyProperty {
  return {
    kind: 'm:1',
    entity: target(spec.target),
    fieldName,
    primary: spec.primary ?? false,
    nullable: false,
    deleteRule: 'cascade',
    updateRule: 'no action',
    // bigint keys exist on PostgreSQL only, where the reference keeps MikroORM's own type.
    ...(definition.idStrategy === 'bigint'
      ? policy.postgresql
      : { customType: new FullauthUuidType(slot, policy) }),
  };
}

interface ColumnTypes {
  varchar: FullauthVarcharType;
  boolean: FullauthBooleanType;
  timestamp: FullauthTimestampType;
}

function toProperty(
  spec: Exclude<PropertySpec, { type: 'id' | 'ref' }>,
  fieldName: string,
  types: ColumnTypes,
  target: (name: FullauthEntityName) => () => AnySchema,
): AnyProperty {
  switch (spec.type) {
    case 'varchar':
      return {
        type: types.varchar,
        length: spec.length,
        nullable: spec.nullable ?? false,
        fieldName,
        ...appDefault(spec.default ?? nullDefault(spec.nullable)),
      };
    case 'text':
      return { type: 'text', nullable: spec.nullable ?? false, fieldName, ...appDefault(nullDefault(spec.nullable)) };
    case 'boolean':
      return { type: types.boolean, nullable: false, fieldName, ...appDefault(spec.default) };
    case 'integer':
      return { type: 'integer', nullable: false, fieldName, ...appDefault(spec.default) };
    case 'timestamp':
      return {
        type: types.timestamp,
        nullable: spec.nullable ?? false,
        fieldName,
        ...(spec.defaultNow ? { onCreate: () => new Date() } : appDefault(nullDefault(spec.nullable))),
      };
    case 'collection':
      return { kind: '1:m', entity: target(spec.target), mappedBy: spec.mappedBy };
    case 'manyToMany':
      return spec.mappedBy
        ? { kind: 'm:n', entity: target(spec.target), mappedBy: spec.mappedBy }
        : { kind: 'm:n', entity: target(spec.target), pivotEntity: target(spec.pivot), owner: true };
  }
}

/** Defaults are the application's, never the database's (the contract has no server defaults). */
function appDefault(value: string | number | boolean | null | undefined): { onCreate?: () => unknown } {
  return value === undefined ? {} : { onCreate: () => value };
}

/** A nullable column left unset is `null` in memory too, as its type says and the row holds. */
const nullDefault = (nullable: boolean | undefined): null | undefined => (nullable ? null : undefined);

/**
 * The contract's single-column unique keys are unique *indexes*, not constraints. MikroORM
 * would emit `add constraint ... unique` on PostgreSQL, so the index is spelled out, in the
 * dialect discovery recorded; the table reference comes from MikroORM, which keeps a
 * host-chosen schema qualified correctly.
 */
function uniqueIndex(name: string, property: string, column: string, slot: DialectSlot): IndexDef {
  return {
    name,
    properties: [property],
    expression: (first: unknown, second: unknown, indexName: string) => {
      // MikroORM 7 passes (columns, table, name), MikroORM 6 (table, columns, name); only the table has its own toString.
      const table = (isTableArgument(first) ? first : second) as { name: string; schema?: string };
      const quote = slot.current() === 'mysql' ? quoteMySql : quoteAnsi;
      // Qualify only a non-default schema, as MikroORM does for its own statements.
      const schema = table.schema && table.schema !== 'public' ? `${quote(table.schema)}.` : '';
      return `create unique index ${quote(indexName)} on ${schema}${quote(table.name)} (${quote(column)})`;
    },
  } as IndexDef;
}

const isTableArgument = (value: unknown): boolean => typeof value === 'object' && value !== null && Object.hasOwn(value, 'toString');
const quoteAnsi = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
const quoteMySql = (identifier: string) => `\`${identifier.replace(/`/g, '``')}\``;
