import { EntitySchema } from '@mikro-orm/core';
import type { Constructor, EntitySchemaMetadata, EntitySchemaProperty, IndexCallback } from '@mikro-orm/core';
import type { FullauthGroup } from './groups.js';
import { idProperty } from './ids.js';
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

  for (const name of names) {
    const spec: TableSpec = FULLAUTH_MODEL[name];
    const table = naming.table(name);
    const properties: Record<string, AnyProperty> = {};
    const indexes: IndexDef[] = [];
    const uniques: IndexDef[] = [];

    for (const [property, column] of Object.entries(spec.properties)) {
      if (!relationIncluded(column, included)) continue;
      const field = column.type === 'ref' ? naming.referenceColumn(property) : naming.column(property);
      properties[property] =
        column.type === 'id'
          ? idProperty(definition.idStrategy, field)
          : toProperty(column, field, naming.foreignKey(table, field), target);
      if ('unique' in column && column.unique) {
        uniques.push(uniqueIndex(naming.index(table, field), property, field));
      }
      if ('index' in column && (column.index === true || (column.index === 'performance' && definition.performanceIndexes))) {
        indexes.push({ name: naming.index(table, field), properties: [property] });
      }
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
    schemas.set(name, new EntitySchema(metadata));
  }
  return schemas;
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

function toProperty(
  spec: Exclude<PropertySpec, { type: 'id' }>,
  fieldName: string,
  foreignKeyName: string,
  target: (name: FullauthEntityName) => () => AnySchema,
): AnyProperty {
  switch (spec.type) {
    case 'varchar':
      return {
        type: 'string',
        length: spec.length,
        nullable: spec.nullable ?? false,
        fieldName,
        ...appDefault(spec.default ?? nullDefault(spec.nullable)),
      };
    case 'text':
      return { type: 'text', nullable: spec.nullable ?? false, fieldName, ...appDefault(nullDefault(spec.nullable)) };
    case 'boolean':
      return { type: 'boolean', nullable: false, fieldName, ...appDefault(spec.default) };
    case 'integer':
      return { type: 'integer', nullable: false, fieldName, ...appDefault(spec.default) };
    case 'timestamp':
      return {
        type: 'datetime',
        columnType: 'timestamptz',
        nullable: spec.nullable ?? false,
        fieldName,
        ...(spec.defaultNow ? { onCreate: () => new Date() } : appDefault(nullDefault(spec.nullable))),
      };
    case 'ref':
      return {
        kind: 'm:1',
        entity: target(spec.target),
        fieldName,
        primary: spec.primary ?? false,
        nullable: false,
        deleteRule: 'cascade',
        updateRule: 'no action',
        foreignKeyName,
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
 * would emit `add constraint ... unique`, so the index is spelled out; the table reference
 * comes from MikroORM, which keeps a host-chosen schema qualified correctly.
 */
function uniqueIndex(name: string, property: string, column: string): IndexDef {
  const quote = (identifier: string) => `"${identifier.replace(/"/g, '""')}"`;
  return {
    name,
    properties: [property],
    expression: (_columns, table, indexName) => {
      // Qualify only a non-default schema, as MikroORM does for its own statements.
      const schema = table.schema && table.schema !== 'public' ? `${quote(table.schema)}.` : '';
      return `create unique index ${quote(indexName)} on ${schema}${quote(table.name)} (${quote(column)})`;
    },
  };
}
