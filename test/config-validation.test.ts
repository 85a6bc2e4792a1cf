// Configuration is checked up front: every bad option fails at once with a FullauthConfigError
// naming the problem and the valid choices, before anything is built, connected or written;
// `null` means "left out" in every public option; error messages stay short whatever the input.
import { EntitySchema, p } from '@mikro-orm/core';
import type { MikroORM } from '@mikro-orm/postgresql';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FULLAUTH_GROUPS,
  FULLAUTH_MIGRATION_DEFAULTS,
  FullauthConfigError,
  checkFullauthSchema,
  defineFullauthEntities,
  fullauthMigrations,
  fullauthMigrator,
  fullauthSchemaHooks,
  getFullauthMetadata,
  resolveGroups,
  type FullauthGroup,
  type FullauthMetadataStorage,
  type FullauthOptions,
} from '../src/index.js';
import { FullauthDestructiveChangeError } from '../src/guard.js';
import { RESERVED_USER_PROPERTIES } from '../src/options.js';
import { describeTargets } from './support/compat.js';
import { runFullauthCli } from './support/fullauth-cli.js';
import { initOrm, type Target } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const databases: TestDatabase[] = [];
const orms: MikroORM[] = [];
afterAll(async () => {
  await Promise.all(orms.map((o) => o.close(true)));
  await Promise.all(databases.map((db) => db.drop()));
});

/** Runs `fn`, expecting a FullauthConfigError; returns its message. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FullauthConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a FullauthConfigError, nothing was thrown');
}

/** An ORM on a fresh database of the target (a new PostgreSQL database, or an in-memory PGlite). */
async function ormOn(kind: Target['kind'], label: string, options: FullauthOptions = {}): Promise<{ orm: MikroORM; tables(): Promise<string[]> }> {
  let target: Target = { kind: 'pglite' };
  if (kind === 'postgres') {
    const db = await createDatabase(label);
    databases.push(db);
    target = { kind: 'postgres', url: db.url };
  }
  const orm = await initOrm(target, { entities: [...defineFullauthEntities(undefined, options)] });
  orms.push(orm);
  const tables = async () => {
    const rows = await orm.em.getConnection().execute<{ name: string }[]>(
      `select table_schema || '.' || table_name as name from information_schema.tables
       where table_schema not in ('pg_catalog', 'information_schema') order by 1`,
    );
    return rows.map((r) => r.name);
  };
  return { orm, tables };
}

describe('user.properties is checked when the entities are defined', () => {
  it('rejects a value that is not an object, naming the kinds of definition it takes', () => {
    const message = configError(() => defineFullauthEntities(undefined, { user: { properties: 'ab' as never } }));
    expect(message).toContain("user.properties must be an object mapping property names to definitions, got 'ab'.");
    expect(message).toMatch(/MikroORM property builder \(p\.string\(\)\.nullable\(\)\), a function returning one .* or a property options object/);
  });

  it('rejects a definition that is not a builder, a function or an options object, naming the property', () => {
    for (const bad of [42, 'string', true, null, undefined, [p.string()]]) {
      const message = configError(() => defineFullauthEntities(undefined, { user: { properties: { foo: bad as never } } }));
      expect(message).toMatch(/^user\.properties: 'foo' is (number 42|'string'|boolean true|null|undefined|an array); each definition must be a MikroORM property builder/);
    }
  });

  it('still takes builders, relation functions and options objects', () => {
    const Tenant = new EntitySchema({ name: 'Tenant', properties: { id: { type: 'integer', primary: true } } });
    const auth = defineFullauthEntities([], {
      user: { properties: { nick: p.string().nullable(), tenant: () => p.manyToOne(Tenant).nullable(), age: { type: 'integer', nullable: true } } },
    });
    expect(Object.keys(auth.FullauthUser.meta.properties)).toEqual(expect.arrayContaining(['nick', 'tenant', 'age']));
  });
});

describe('table names are checked against each other and the tracking tables', () => {
  it.each(['fullauth_migrations', 'mikro_orm_migrations'])('refuses a fullauth table named %s', (name) => {
    const message = configError(() => defineFullauthEntities(undefined, { tables: { FullauthUser: name } }));
    expect(message).toContain(`tables.FullauthUser is '${name}', a name reserved for a migration tracking table`);
    expect(message).toContain('Choose another name; reserved: fullauth_migrations, mikro_orm_migrations.');
  });

  it('refuses an override that takes the default name of another entity', () => {
    const message = configError(() => defineFullauthEntities(undefined, { tables: { FullauthUser: 'fullauth_roles' } }));
    expect(message).toBe("FullauthUser and FullauthRole would both use the table 'fullauth_roles'. Give each entity its own table name.");
  });
});

describe('the tracking table name of the managed stream', () => {
  const bad: [string, string, RegExp][] = [
    ['an empty name', '', /tableName must be a lower-case SQL identifier \(letters a-z, digits and _, not starting with a digit\); got ''/],
    ['an 80-character name', 'm'.repeat(80), /tableName is 80 characters long .*PostgreSQL allows at most 63/],
    ['a name that is not an identifier', 'Fullauth-Migrations', /tableName must be a lower-case SQL identifier.*got 'Fullauth-Migrations'/],
    ["a fullauth table's name", 'fullauth_users', /tableName is 'fullauth_users', the table of FullauthUser\. The tracking table needs a name of its own \(default fullauth_migrations\)/],
    ["MikroORM Migrator's table", 'mikro_orm_migrations', /tableName is 'mikro_orm_migrations', MikroORM Migrator's own tracking table/],
  ];

  describeTargets(['postgres', 'pglite'] as const, 'fullauthMigrator() on %s', (kind) => {
    it.skipIf(kind === 'postgres' && skipPostgres)('fails at once on a bad tableName and writes nothing', async () => {
      const { orm, tables } = await ormOn(kind, 'bad_tracking');
      for (const [, tableName, message] of bad) {
        expect(configError(() => fullauthMigrator(orm, { tableName }))).toMatch(message);
      }
      expect(configError(() => fullauthMigrator(orm, { tableName: 'x', migrations: 'all' as never }))).toContain(
        "migrations must be an array of FullauthManagedMigration, got 'all'.",
      );
      expect(configError(() => fullauthMigrator(orm, { table: 'x' } as never))).toContain("Unknown fullauthMigrator option: 'table'. Valid: tableName, migrations.");
      expect(await tables()).toEqual([]);
    });
  });

  // The server named here does not exist: each refusal comes before the database is asked anything.
  const nowhere = { DATABASE_URL: 'postgresql://nobody@127.0.0.1:1/never' };
  const cliRefusedAtOnce = bad.filter(([, name]) => name !== 'fullauth_users').map(([label, name]) => [label, name] as const);
  it.each(cliRefusedAtOnce)('--migrations-table: the CLI refuses %s before loading the config', async (_label, name) => {
    const result = (await runFullauthCli(['status', '--migrations-table', name], nowhere));
    expect(result.status, result.output).toBe(1);
    expect(result.output).toMatch(/^mikro-orm-fullauth: --migrations-table (must be|is)/);
  });

  it("--migrations-table: the CLI refuses a fullauth table's name once the config names the tables, before connecting", async () => {
    for (const command of ['status', 'migrate']) {
      const result = (await runFullauthCli([command, '--migrations-table', 'fullauth_users'], nowhere));
      expect(result.status, result.output).toBe(1);
      expect(result.output).toContain("mikro-orm-fullauth: tableName is 'fullauth_users', the table of FullauthUser.");
    }
  });

  it('fullauthSchemaHooks({ migrationsTable }) follows the same rules', () => {
    expect(configError(() => fullauthSchemaHooks({ migrationsTable: '' }))).toMatch(/migrationsTable must be a lower-case SQL identifier/);
    expect(configError(() => fullauthSchemaHooks({ migrationsTable: 'm'.repeat(80) }))).toMatch(/migrationsTable is 80 characters long/);
  });

  it.skipIf(skipPostgres)("fullauthSchemaHooks({ migrationsTable }) naming a fullauth table fails at discovery, before anything is written", async () => {
    const db = await createDatabase('hooks_tracking');
    databases.push(db);
    const init = initOrm({ kind: 'postgres', url: db.url }, {
      entities: [...defineFullauthEntities([], { tablePrefix: 'auth_' })],
      extensions: [fullauthSchemaHooks({ migrationsTable: 'auth_users' })],
    });
    await expect(init).rejects.toThrow(FullauthConfigError);
    await expect(init).rejects.toThrow("migrationsTable is 'auth_users', the table of FullauthUser.");
    const { rows } = await db.sql(`select count(*)::int as n from information_schema.tables where table_schema = 'public'`);
    expect(rows[0].n).toBe(0);
  });
});

describe('fullauthSchemaHooks() options', () => {
  it('takes null as no options (no TypeError)', () => {
    expect(fullauthSchemaHooks(null).options).toEqual({});
  });

  it('rejects options that are not an object, and values of the wrong type', () => {
    expect(configError(() => fullauthSchemaHooks('safe' as never))).toBe(
      "fullauthSchemaHooks() options must be an object (or null / left out for the defaults), got 'safe'.",
    );
    expect(configError(() => fullauthSchemaHooks([] as never))).toContain('got an array');
    expect(configError(() => fullauthSchemaHooks({ excludeFromDiff: 'yes' as never }))).toBe("excludeFromDiff must be true or false, got 'yes'.");
    expect(configError(() => fullauthSchemaHooks({ allowDestructive: 1 as never }))).toBe('allowDestructive must be true or false, got number 1.');
  });
});

describe('null is the same as leaving an option out, everywhere', () => {
  /** What a set of entities amounts to: tables, schema, columns and their types. */
  const summary = (storage: FullauthMetadataStorage) =>
    [...storage].map((meta) => ({
      table: meta.tableName,
      schema: meta.schema,
      columns: meta.props.flatMap((prop) => (prop.fieldNames ?? []).map((field, i) => `${field} ${prop.columnTypes?.[i]}`)),
    }));
  const defaults = async () => summary(await getFullauthMetadata());

  it('defineFullauthEntities(null, null) and every option set to null give the defaults', async () => {
    const names = (entities: readonly EntitySchema[]) => entities.map((e) => [e.meta.className, e.meta.tableName, e.meta.schema]);
    const plain = names(defineFullauthEntities());
    expect(names(defineFullauthEntities(null, null))).toEqual(plain);
    const allNull: FullauthOptions = {
      tablePrefix: null,
      tables: null,
      schema: null,
      idStrategy: null,
      user: null,
      performanceIndexes: null,
    };
    expect(names(defineFullauthEntities(null, allNull))).toEqual(plain);
    expect(names(defineFullauthEntities(undefined, { tables: { FullauthUser: null, FullauthRole: 'roles' } })).find(([n]) => n === 'FullauthUser')).toEqual([
      'FullauthUser',
      'fullauth_users',
      undefined,
    ]);
    expect(names(defineFullauthEntities(undefined, { user: { properties: null, class: null } }))).toEqual(plain);
  });

  it('getFullauthMetadata(null) and null options discover the defaults', async () => {
    const expected = await defaults();
    expect(summary(await getFullauthMetadata(null))).toEqual(expected);
    expect(
      summary(await getFullauthMetadata({ include: null, driver: null, schema: null, idStrategy: null, tablePrefix: null, tables: null, user: null, performanceIndexes: null })),
    ).toEqual(expected);
  });

  it('fullauthMigrations(null) and null entries keep the pinned defaults', () => {
    expect(fullauthMigrations(null)).toEqual(FULLAUTH_MIGRATION_DEFAULTS);
    expect(fullauthMigrations({ path: null, transactional: undefined, tableName: 'x' } as never)).toEqual({ ...FULLAUTH_MIGRATION_DEFAULTS, tableName: 'x' });
    expect(configError(() => fullauthMigrations('./migrations' as never))).toContain("fullauthMigrations() options must be an object (or null / left out for the defaults), got './migrations'.");
  });

  it('fullauthSchemaHooks() options set to null are left out', () => {
    expect(fullauthSchemaHooks({ excludeFromDiff: null, dropRemovedGroups: null, allowDestructive: null, migrationsTable: null }).options).toEqual({});
  });

  it.skipIf(skipPostgres)('fullauthMigrator(orm, null) and null options use the default tracking table', async () => {
    const { orm, tables } = await ormOn('postgres', 'null_migrator');
    const pending = FULLAUTH_GROUPS.map((g) => `0001_${g}`);
    expect(await fullauthMigrator(orm, null).status()).toEqual({ executed: [], pending });
    expect(await fullauthMigrator(orm, { tableName: null, migrations: null }).up()).toEqual(pending);
    expect(await tables()).toContain('public.fullauth_migrations');
  });

  it('checkFullauthSchema() has no options; a missing ORM is an error, not a default', async () => {
    await expect(checkFullauthSchema(null as never)).rejects.toThrow("checkFullauthSchema() needs a MikroORM instance, got null.");
    expect(configError(() => fullauthMigrator(null as never))).toBe('fullauthMigrator() needs a MikroORM instance, got null.');
  });
});

describe('error messages stay short, whatever the input', () => {
  const many = <T>(n: number, make: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => make(i));
  const short = (message: string) => expect(message.length).toBeLessThan(700);

  it('100,000 unknown groups: the first five, then a count', () => {
    const message = configError(() => resolveGroups(many(100_000, (i) => `group${i}`) as FullauthGroup[]));
    short(message);
    expect(message).toBe(
      "Unknown fullauth model groups: 'group0', 'group1', 'group2', 'group3', 'group4' and 99995 more. " +
        "Valid groups: 'base', 'role', 'permission', 'oauth', 'passkey'.",
    );
  });

  it('one enormous value is cut', () => {
    const message = configError(() => resolveGroups(['x'.repeat(1_000_000)] as FullauthGroup[]));
    short(message);
    expect(message).toMatch(/^Unknown fullauth model group: 'x{63}…'\. Valid groups:/);
    short(configError(() => defineFullauthEntities(undefined, { tablePrefix: 'y'.repeat(1_000_000) })));
    short(configError(() => defineFullauthEntities(undefined, { schema: 'Z'.repeat(1_000_000) })));
  });

  it('unknown option keys, unknown entities, bad properties, reserved properties, hook options', () => {
    const keys = Object.fromEntries(many(100_000, (i) => [`opt${i}`, 1] as const));
    const unknownOptions = configError(() => defineFullauthEntities(undefined, keys as FullauthOptions));
    expect(unknownOptions).toMatch(/^Unknown options: 'opt0', 'opt1', 'opt2', 'opt3', 'opt4' and 99995 more\. Valid: tablePrefix,/);
    short(unknownOptions);

    const tables = configError(() => defineFullauthEntities(undefined, { tables: keys as never }));
    expect(tables).toMatch(/^tables: unknown entities 'opt0', .* and 99995 more\. Valid entities: FullauthUser,/);
    short(tables);

    const properties = configError(() => defineFullauthEntities(undefined, { user: { properties: keys as never } }));
    expect(properties).toMatch(/^user\.properties: 'opt0' is number 1, .* and 99995 more; each definition must be/);
    short(properties);

    const reserved = Object.fromEntries(RESERVED_USER_PROPERTIES.map((name) => [name, p.string()]));
    const clash = configError(() => defineFullauthEntities(undefined, { user: { properties: reserved } }));
    expect(clash).toContain(`and ${RESERVED_USER_PROPERTIES.length - 5} more: the auth tables rely on them`);

    const hooks = configError(() => fullauthSchemaHooks(keys as never));
    expect(hooks).toMatch(/^Unknown fullauthSchemaHooks options: 'opt0', .* and 99995 more\. Valid: excludeFromDiff,/);
    short(hooks);
  });

  it('a refused destructive change names five statements and counts the rest', () => {
    const statements = many(40, (i) => `alter table "fullauth_users" drop column "c${i}"`);
    const error = new FullauthDestructiveChangeError(statements);
    expect(error.message.split('\n').filter((line) => line.startsWith('  - '))).toHaveLength(6);
    expect(error.message).toContain('  - and 35 more (error.statements lists them all)');
    expect(error.statements).toHaveLength(40);
  });
});
