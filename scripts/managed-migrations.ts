// Produces the shipped fullauth migrations (src/managed/<dialect>.ts) from the entity
// definitions, with MikroORM's own schema comparator on a scratch database of that dialect:
// in-memory embedded PostgreSQL (PGlite), a scratch database on the MariaDB/MySQL server of
// FULLAUTH_MYSQL_URL (default mysql://root@127.0.0.1:3306/). For each group, and then for the
// group with each option that adds to it (performanceIndexes): apply the migrations already
// shipped, diff the group's tables against the entities, and emit what is missing as the
// next version. Each step's `down` is the comparator's diff from the schema after the step
// back to the schema before it.
import { randomBytes } from 'node:crypto';
import type { DatabaseSchema, SchemaDifference } from '@mikro-orm/sql';
import { FULLAUTH_GROUPS, defineFullauthEntities, resolveGroups, type FullauthGroup } from '../src/index.js';
import { entityNamesOf } from '../src/build-schema.js';
import { compareMigrations, type FullauthManagedMigration, type FullauthManagedOption } from '../src/managed.js';
import { TEMPLATE_PREFIX } from '../src/managed/template.js';
import { loadSqlLayer, setSchemaTables } from '../src/orm-compat.js';
import { FULLAUTH_MODEL } from '../src/model.js';
import { embeddedPostgres } from './embedded-postgres.js';

export type GeneratedDialect = 'postgresql' | 'mysql' | 'sqlite';

type Comparison = { fromSchema: DatabaseSchema; toSchema: DatabaseSchema };
/** MikroORM's SqlSchemaGenerator steps we use (`prepareSchemaForComparison` is private in its typings). */
interface Generator {
  prepareSchemaForComparison(options: object): Promise<Comparison>;
  /** A string on MikroORM 7, a promise of one on 6. */
  diffToSQL(diff: SchemaDifference, options: object): string | Promise<string>;
}
interface ScratchOrm {
  orm: {
    schema: unknown;
    em: { getConnection(): { execute(sql: string): Promise<unknown> }; getPlatform(): unknown };
    close(): Promise<void>;
  };
  dispose(): Promise<void>;
}

export const MYSQL_GENERATOR_URL = process.env.FULLAUTH_MYSQL_URL ?? process.env.FULLAUTH_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** The options whose indexes or columns a group's tables have (a step only where it adds something). */
const OPTIONS: readonly FullauthManagedOption[] = ['performanceIndexes'];
const OPTION_SUFFIX: Record<FullauthManagedOption, string> = { performanceIndexes: 'performance' };

/** Whether an option adds anything to a group's own tables (only then is there a step to look for). */
function addsTo(group: FullauthGroup, option: FullauthManagedOption): boolean {
  return entityNamesOf([group])
    .filter((e) => FULLAUTH_MODEL[e].group === group)
    .some((e) => Object.values(FULLAUTH_MODEL[e].properties).some((p) => option === 'performanceIndexes' && 'index' in p && p.index === 'performance'));
}

/** Where the scratch databases are made: PostgreSQL on `postgresqlUrl` when given (faster than PGlite; the same platform and SQL). */
export interface GenerateOptions {
  postgresqlUrl?: string;
}

async function scratchOrm(dialect: GeneratedDialect, entities: unknown[], options: GenerateOptions): Promise<ScratchOrm> {
  const common = { entities, extensions: [], debug: false, allowGlobalContext: true };
  if (dialect === 'postgresql' && options.postgresqlUrl) {
    const { MikroORM } = await import('@mikro-orm/postgresql');
    const pg = (await import('pg')).default;
    const name = `fullauth_generate_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client(options.postgresqlUrl);
    await admin.connect();
    await admin.query(`create database "${name}"`);
    const url = new URL(options.postgresqlUrl);
    url.pathname = `/${name}`;
    const orm = await MikroORM.init({ ...common, clientUrl: url.toString() } as never);
    return {
      orm: orm as never,
      async dispose() {
        await orm.close();
        await admin.query(`drop database if exists "${name}" with (force)`);
        await admin.end();
      },
    };
  }
  if (dialect === 'sqlite') {
    // In memory through node:sqlite; fullauthSchemaHooks() makes the fullauth tables' DDL
    // fastapi-fullauth's (SQLAlchemy's foreign-key clauses and inline unique constraints).
    const { MikroORM, NodeSqliteDialect, SqliteDriver } = await import('@mikro-orm/sql');
    const { fullauthSchemaHooks } = await import('../src/index.js');
    const orm = await MikroORM.init({
      ...common,
      driver: SqliteDriver,
      dbName: ':memory:',
      driverOptions: new NodeSqliteDialect(':memory:'),
      extensions: [fullauthSchemaHooks()],
    } as never);
    return { orm: orm as never, dispose: () => orm.close() };
  }
  if (dialect === 'postgresql') {
    const { MikroORM } = await import('@mikro-orm/postgresql');
    const orm = await MikroORM.init({ ...common, dbName: 'postgres', driverOptions: () => embeddedPostgres() } as never);
    return { orm: orm as never, dispose: () => orm.close() };
  }
  const { MikroORM } = await import('@mikro-orm/mariadb');
  const mysql = await import('mysql2/promise');
  const name = `fullauth_generate_${randomBytes(4).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: MYSQL_GENERATOR_URL });
  await admin.query(`create database \`${name}\``);
  const url = new URL(MYSQL_GENERATOR_URL);
  url.pathname = `/${name}`;
  const orm = await MikroORM.init({ ...common, clientUrl: url.toString() } as never);
  return {
    orm: orm as never,
    async dispose() {
      await orm.close();
      await admin.query(`drop database if exists \`${name}\``);
      await admin.end();
    },
  };
}

/**
 * The shipped list completed: every shipped step with its `down` (computed where missing),
 * followed by the steps the entity definitions need on top (the next version). Equal to
 * `shipped` when the entities and the shipped migrations agree.
 */
export async function regenerateMigrations(
  dialect: GeneratedDialect,
  shipped: readonly FullauthManagedMigration[],
  options: GenerateOptions = {},
): Promise<FullauthManagedMigration[]> {
  const versions = shipped.map((m) => Number(m.name.split('_')[0]));
  const next = String(Math.max(0, ...versions) + 1).padStart(4, '0');
  const all = shipped.map((m) => ({ ...m }));
  for (const group of FULLAUTH_GROUPS) {
    for (const option of [undefined, ...OPTIONS.filter((o) => addsTo(group, o))]) {
      const step = await generateStep(dialect, group, option, all, next, options);
      if (step) all.push(step);
    }
  }
  return all.toSorted(compareMigrations);
}

/** What `npm run migrations:generate` would add (the test: nothing). */
export async function missingMigrations(
  dialect: GeneratedDialect,
  shipped: readonly FullauthManagedMigration[],
  options: GenerateOptions = {},
): Promise<FullauthManagedMigration[]> {
  const all = await regenerateMigrations(dialect, shipped, options);
  return all.filter((m) => !shipped.some((s) => s.name === m.name));
}

async function generateStep(
  dialect: GeneratedDialect,
  group: FullauthGroup,
  option: FullauthManagedOption | undefined,
  all: { -readonly [K in keyof FullauthManagedMigration]: FullauthManagedMigration[K] }[],
  next: string,
  options: GenerateOptions,
): Promise<FullauthManagedMigration | undefined> {
  const entities = defineFullauthEntities([group], { tablePrefix: TEMPLATE_PREFIX, ...(option ? { [option]: true } : {}) });
  const { orm, dispose } = await scratchOrm(dialect, [...entities], options);
  try {
    const own = new Set(entityNamesOf([group]).map((e) => `${TEMPLATE_PREFIX}${FULLAUTH_MODEL[e].table}`));
    const generator = orm.schema as Generator;
    // @mikro-orm/sql on MikroORM 7, @mikro-orm/knex on 6.
    const { SchemaComparator } = await loadSqlLayer();
    const comparator = new SchemaComparator(orm.em.getPlatform() as never) as unknown as { compare(from: DatabaseSchema, to: DatabaseSchema): SchemaDifference };
    const ownOnly = (schema: DatabaseSchema) => setSchemaTables(schema, schema.getTables().filter((t) => own.has(t.name)));
    const snapshot = async () => {
      const { fromSchema, toSchema } = await generator.prepareSchemaForComparison({ safe: false, dropTables: true });
      ownOnly(fromSchema);
      ownOnly(toSchema);
      return { live: fromSchema, wanted: toSchema };
    };
    const toStatements = async (diff: SchemaDifference) =>
      (await generator.diffToSQL(diff, { wrap: false, safe: false, dropTables: true }))
        .split(/;\s*\n/)
        .map((s) => s.trim().replace(/;$/, ''))
        .filter((s) => s !== '' && !/^set (names|foreign_key_checks)\b/i.test(s))
        // A host table's foreign key to a fullauth table must stop a drop, not be dropped with it.
        .map((s) => s.replace(/^(drop table .*?) cascade$/i, '$1'));
    const run = async (statements: readonly string[]) => {
      for (const statement of statements) await orm.em.getConnection().execute(statement);
    };
    // This group's own steps (of this option) get their down here; the others are only applied.
    const groups = resolveGroups([group]);
    const applicable = all
      .filter((m) => groups.includes(m.group) && (!m.option || m.option === option))
      .toSorted(compareMigrations);
    for (const migration of applicable) {
      if (migration.group === group && migration.option === option && !migration.down) {
        const before = (await snapshot()).live;
        await run(migration.up);
        const after = (await snapshot()).live;
        migration.down = await toStatements(comparator.compare(after, before));
      } else {
        await run(migration.up);
      }
    }
    const { live, wanted } = await snapshot();
    const up = await toStatements(comparator.compare(live, wanted));
    if (up.length === 0) return undefined;
    await run(up);
    const after = (await snapshot()).live;
    const down = await toStatements(comparator.compare(after, live));
    return { name: `${next}_${group}${option ? `_${OPTION_SUFFIX[option]}` : ''}`, group, ...(option ? { option } : {}), up, down };
  } finally {
    await dispose();
  }
}
