import type { FullauthGroup } from './groups.js';

/**
 * The vocabulary the tables are declared in (see model.ts). It speaks of the contract's
 * column kinds, not of MikroORM options: build-schema.ts is the one place that turns a
 * declaration into MikroORM metadata, applying naming and id policy.
 */
export type ColumnSpec =
  /** Primary key `uuid`, made by the application as a UUIDv7. */
  | { readonly type: 'id' }
  | {
      readonly type: 'varchar';
      readonly length: number;
      readonly nullable?: boolean;
      /** Unique index `ix_<table>_<column>` (an index, not a constraint, as in the contract). */
      readonly unique?: boolean;
      /** Plain index `ix_<table>_<column>`; `'performance'`: only with the `performanceIndexes` option. */
      readonly index?: IndexSpec;
      /** Default applied by the application, never by the database. */
      readonly default?: string;
    }
  | { readonly type: 'text'; readonly nullable?: boolean }
  | { readonly type: 'boolean'; readonly default: boolean }
  | { readonly type: 'integer'; readonly default: number }
  | {
      readonly type: 'timestamp';
      readonly nullable?: boolean;
      readonly index?: IndexSpec;
      /** Filled with the current time (UTC) by the application on insert. */
      readonly defaultNow?: boolean;
    };

export type RelationSpec =
  /** Many-to-one: column `<property>_id`, foreign key `ON DELETE CASCADE`, no ON UPDATE rule. */
  | {
      readonly type: 'ref';
      readonly target: FullauthEntityName;
      /** Part of a composite primary key (join tables). */
      readonly primary?: boolean;
      /** Plain index `ix_<table>_<column>`; `'performance'`: only with the `performanceIndexes` option. */
      readonly index?: IndexSpec;
    }
  /** The inverse side of a `ref`: no column of its own. */
  | { readonly type: 'collection'; readonly target: FullauthEntityName; readonly mappedBy: string }
  /** Many-to-many through an explicit join entity (its `ref`s carry the keys). */
  | {
      readonly type: 'manyToMany';
      readonly target: FullauthEntityName;
      readonly pivot: FullauthEntityName;
      /** Set on the inverse side: the owning side's property name. */
      readonly mappedBy?: string;
    };

export type PropertySpec = ColumnSpec | RelationSpec;

/**
 * `true`: an index of the contract. `'performance'`: an index the contract lacks but a hot
 * query of the store needs; created only with `performanceIndexes: true`.
 */
export type IndexSpec = true | 'performance';

export interface TableSpec {
  readonly group: FullauthGroup;
  /** Table name without the `fullauth_` prefix. */
  readonly table: string;
  readonly properties: Readonly<Record<string, PropertySpec>>;
  /**
   * Named multi-column unique constraints: `name` is the contract's, `key` names it on a
   * renamed table (`uq_<table>_<key>`).
   */
  readonly uniqueConstraints?: readonly {
    readonly name: string;
    readonly key: string;
    readonly properties: readonly string[];
  }[];
}

export const FULLAUTH_ENTITY_NAMES = [
  'FullauthUser',
  'FullauthRefreshToken',
  'FullauthRole',
  'FullauthUserRole',
  'FullauthPermission',
  'FullauthRolePermission',
  'FullauthOAuthAccount',
  'FullauthPasskey',
] as const;

export type FullauthEntityName = (typeof FULLAUTH_ENTITY_NAMES)[number];
