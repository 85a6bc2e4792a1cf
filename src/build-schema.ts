import { EntitySchema } from '@mikro-orm/core';
import type { EntitySchemaMetadata, EntitySchemaProperty, IndexCallback } from '@mikro-orm/core';
import type { FullauthGroup } from './groups.js';
import { newId } from './ids.js';
import { FULLAUTH_MODEL } from './model.js';
import { columnName, foreignKeyName, indexName, referenceColumnName, tableName } from './naming.js';
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

/**
 * Builds fresh EntitySchemas for the given resolved groups. Each call makes new objects,
 * and relations point only at schemas of the same call, so two calls never share state.
 */
export function buildEntitySchemas(groups: readonly FullauthGroup[]): Map<FullauthEntityName, AnySchema> {
  const names = entityNamesOf(groups);
  const schemas = new Map<FullauthEntityName, AnySchema>();
  const target = (name: FullauthEntityName) => (): AnySchema => schemas.get(name)!;
  const included = (name: FullauthEntityName): boolean => names.includes(name);

  for (const name of names) {
    const spec: TableSpec = FULLAUTH_MODEL[name];
    const table = tableName(spec.table);
    const properties: Record<string, AnyProperty> = {};
    const indexes: IndexDef[] = [];
    const uniques: IndexDef[] = [];

    for (const [property, column] of Object.entries(spec.properties)) {
      if (!relationIncluded(column, included)) continue;
      const field = column.type === 'ref' ? referenceColumnName(property) : columnName(property);
      properties[property] = toProperty(column, field, table, target);
      if ('unique' in column && column.unique) {
        uniques.push(uniqueIndex(indexName(table, field), property, field));
      }
      if ('index' in column && column.index) {
        indexes.push({ name: indexName(table, field), properties: [property] });
      }
    }
    for (const constraint of spec.uniqueConstraints ?? []) {
      uniques.push({ name: constraint.name, properties: [...constraint.properties] });
    }

    const metadata: EntitySchemaMetadata<AnyEntity> = { name, tableName: table, properties, indexes, uniques };
    schemas.set(name, new EntitySchema(metadata));
  }
  return schemas;
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
  spec: PropertySpec,
  fieldName: string,
  table: string,
  target: (name: FullauthEntityName) => () => AnySchema,
): AnyProperty {
  switch (spec.type) {
    case 'id':
      return { type: 'uuid', primary: true, fieldName, onCreate: newId };
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
        foreignKeyName: foreignKeyName(table, fieldName),
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
