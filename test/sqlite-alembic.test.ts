// One SQLite file shared with a Python fastapi-fullauth service: its Alembic autogenerate
// (SQLAlchemy's reflection of the file, compared with fastapi-fullauth's models) proposes no
// change on the tables this package creates, through the mikro-orm CLI as a user runs it;
// and our diff proposes none on the tables SQLAlchemy creates. fastapi-fullauth itself is not
// installable here (no PyPI): test/fixtures/python/alembic_sqlite.py declares its models as
// ../shared/schema-contract.md states them. Every comparison runs with Debian 12's SQLAlchemy 1.4
// and Alembic 1.8, and with SQLAlchemy 2 and Alembic from Debian 13's packages
// (scripts/python-sqlalchemy2.sh), which fastapi-fullauth 0.15 runs on.
// The same cases run on MikroORM 7 (node:sqlite) and on MikroORM 6 (libSQL, whose DDL knex
// builds): src/sqlite/ddl.ts writes the same SQLAlchemy-shaped DDL through either.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { defineFullauthEntities, fullauthSchemaHooks, resolveGroups, type FullauthGroup } from '../src/index.js';
import { readSqliteTables } from './support/catalogs.js';
import { CLI_ENV, MIKRO_ORM_6, withMikroOrm7Names } from './support/compat.js';
import { SQLITE_NAME, initOtherOrm, removeDirs, scratchDir } from './support/databases.js';
import { GROUP_VARIANTS } from './support/fixture.js';
import { ROOT } from './support/fullauth-cli.js';
import { PYTHON, sqlalchemyStacks, type PythonStack } from './support/python.js';
import { runCommand } from './support/spawn.js';

// Debian 12's SQLAlchemy 1.4 / Alembic 1.8, and SQLAlchemy 2 / Alembic (Debian 13's packages,
// scripts/python-sqlalchemy2.sh), which fastapi-fullauth 0.15 runs on: every comparison runs with each.
const { stacks, missing } = sqlalchemyStacks();
const skip = stacks.length === 0 ? missing.join('; ') : undefined;
const STACKS = stacks.map((s) => s.name).join('; ');

describe('the Python side of these tests', () => {
  it.skipIf(missing.length > 0)(
    `is both SQLAlchemy 1.4 with Alembic 1.8 (Debian 12) and SQLAlchemy 2 with Alembic (Debian 13's packages)${missing.length > 0 ? ` (${missing.join('; ')})` : ''}`,
    () => {
      expect(stacks.map((stack) => /^SQLAlchemy (\d+\.\d+)\.\d+, Alembic (\d+)\./.exec(stack.name)?.slice(1))).toEqual([
        ['1.4', '1'],
        ['2.0', '1'],
      ]);
    },
  );
});

const dirs: string[] = [];
afterAll(() => removeDirs(dirs));

interface Comparison {
  /** Each change Alembic's autogenerate would write into a migration. */
  changes: string[];
  reflected: Record<
    string,
    {
      foreign_keys: { constrained_columns: string[]; referred_table: string; referred_columns: string[]; ondelete: string | null }[];
      unique_constraints: { name: string | null; column_names: string[] }[];
      indexes: { name: string; column_names: string[]; unique: boolean }[];
    }
  >;
}

async function python<T>(request: Record<string, unknown>, stack: PythonStack): Promise<T> {
  const script = join(ROOT, 'test/fixtures/python/alembic_sqlite.py');
  const result = await runCommand(PYTHON, [script], { input: JSON.stringify(request), timeout: 120_000, env: stack.env });
  if (result.status !== 0) throw new Error(`alembic_sqlite.py ${String(request.op)} with ${stack.name} failed:\n${result.output}`);
  return JSON.parse(result.stdout) as T;
}

/** What fastapi-fullauth's Alembic autogenerate proposes on `file` for the models of `groups`, with each SQLAlchemy/Alembic, by its name. */
async function alembicCompare(file: string, groups: readonly FullauthGroup[]): Promise<Record<string, Comparison>> {
  return Object.fromEntries(await Promise.all(stacks.map(async (stack) => [stack.name, await python<Comparison>({ op: 'compare', file, groups }, stack)])));
}
/** The changes each SQLAlchemy/Alembic proposes, by its name; `NOTHING` when none proposes any. */
const changesOf = async (file: string, groups: readonly FullauthGroup[]) =>
  Object.fromEntries(Object.entries(await alembicCompare(file, groups)).map(([name, compared]) => [name, compared.changes]));
const NOTHING = Object.fromEntries(stacks.map((stack) => [stack.name, []]));

/** The `mikro-orm` CLI in the repository, in a user's environment. */
async function mikroOrm(args: string[], configFile: string, env: Record<string, string>): Promise<string> {
  const userEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  const result = await runCommand(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'node_modules/@mikro-orm/cli/cli.js'), ...args, '--config', configFile],
    { cwd: ROOT, env: { ...userEnv, ...CLI_ENV, NO_COLOR: '1', FORCE_COLOR: '0', ...env } },
  );
  if (result.status !== 0) throw new Error(`mikro-orm ${args.join(' ')} exited ${result.status}:\n${result.output}`);
  return result.output;
}

/**
 * A user's SQLite config (docs/sqlite.md), with or without the schema hooks; without the
 * migration snapshot, so that every `migration:create` compares with the database itself.
 */
function writeSqliteConfig(dir: string, { hooks, groups }: { hooks: boolean; groups?: string }): string {
  const file = join(dir, 'mikro-orm.config.ts');
  const src = JSON.stringify(join(ROOT, 'src/index.js'));
  // MikroORM 6: its libSQL driver, as docs/sqlite.md configures it there.
  const driver = MIKRO_ORM_6
    ? { imports: "import { defineConfig } from '@mikro-orm/libsql';", options: '' }
    : {
        imports: "import { NodeSqliteDialect, SqliteDriver, defineConfig } from '@mikro-orm/sql';",
        options: '\n  driver: SqliteDriver,\n  driverOptions: new NodeSqliteDialect(file),',
      };
  writeFileSync(
    file,
    `import { Migrator } from '@mikro-orm/migrations';
${driver.imports}
import { defineFullauthEntities, fullauthMigrations, fullauthSchemaHooks } from ${src};

const file = process.env.APP_SQLITE!;
export default defineConfig({
  dbName: file,${driver.options}
  entities: [...defineFullauthEntities(${groups ?? ''})],
  extensions: [Migrator${hooks ? ', fullauthSchemaHooks()' : ''}],
  migrations: fullauthMigrations({ path: process.env.APP_MIGRATIONS!, snapshot: false }),
});
`,
  );
  return file;
}

const ALL = resolveGroups(undefined);

/** Installed in the MikroORM 6 job only (ci/mikro-orm-6), so imported by a name the type-checker does not follow. */
const LIBSQL_ORM = '@mikro-orm/libsql';

/** An ORM on `file` with the fullauth entities and nothing else of this package (no hooks, no Migrator). */
async function plainSqliteOrm(file: string): Promise<{ schema: { create(): Promise<void> }; close(): Promise<void> }> {
  const entities = [...defineFullauthEntities()];
  if (MIKRO_ORM_6) {
    const { MikroORM } = (await import(/* @vite-ignore */ LIBSQL_ORM)) as { MikroORM: { init(options: object): Promise<import('@mikro-orm/sql').MikroORM> } };
    return withMikroOrm7Names(await MikroORM.init({ dbName: file, entities, debug: false }));
  }
  const { MikroORM, NodeSqliteDialect, SqliteDriver } = await import('@mikro-orm/sql');
  return MikroORM.init({ driver: SqliteDriver, dbName: file, driverOptions: new NodeSqliteDialect(file), entities, debug: false });
}
const tableNames = async (file: string) => (await readSqliteTables(file)).map((t) => t.name);

describe.skipIf(!!skip)(`${SQLITE_NAME} shared with fastapi-fullauth: Alembic autogenerate on our tables (${skip ?? STACKS})`, () => {
  it('mikro-orm CLI (migration:create --initial, up): Alembic proposes nothing; our diff neither; migration:down reverts', async () => {
    const dir = scratchDir('alembic-cli', dirs);
    const config = writeSqliteConfig(dir, { hooks: true });
    const env = { APP_SQLITE: join(dir, 'app.sqlite'), APP_MIGRATIONS: join(dir, 'migrations') };

    await mikroOrm(['migration:create', '--initial'], config, env);
    const [migration] = readdirSync(env.APP_MIGRATIONS).filter((f) => f.endsWith('.ts'));
    const code = readFileSync(join(env.APP_MIGRATIONS, migration!), 'utf8');
    // The DDL SQLAlchemy writes: foreign key targets without backticks, the named unique key in the table.
    expect(code).toContain('references fullauth_users (id) on update no action on delete cascade');
    expect(code).toContain('constraint uq_oauth_provider_user unique (provider, provider_user_id)');
    expect(code).not.toMatch(/references `/);
    expect(code).not.toMatch(/create unique index \S*uq_oauth_provider_user/);

    await mikroOrm(['migration:up'], config, env);
    for (const [stack, compared] of Object.entries(await alembicCompare(env.APP_SQLITE, ALL))) {
      expect(compared.changes, stack).toEqual([]);
      // What SQLAlchemy reads back: every foreign key with its ON DELETE CASCADE, the named constraint.
      const fks = Object.values(compared.reflected).flatMap((t) => t.foreign_keys);
      expect(fks, stack).toHaveLength(7);
      expect(fks.every((fk) => fk.ondelete === 'CASCADE'), stack).toBe(true);
      expect(compared.reflected.fullauth_oauth_accounts!.unique_constraints, stack).toEqual([
        { name: 'uq_oauth_provider_user', column_names: ['provider', 'provider_user_id'] },
      ]);
    }

    // MikroORM's own comparison of the result: nothing to do (no perpetual diff).
    expect(await mikroOrm(['migration:create'], config, env)).toMatch(/No changes required/);
    expect(await mikroOrm(['schema:update', '--dump'], config, env)).toMatch(/Schema is up-to-date/);

    await mikroOrm(['migration:down'], config, env);
    expect(await tableNames(env.APP_SQLITE)).toEqual([]);
    await mikroOrm(['migration:up'], config, env);
    expect(await changesOf(env.APP_SQLITE, ALL)).toEqual(NOTHING);
  });

  it('mikro-orm CLI schema:create --run: Alembic proposes nothing', async () => {
    const dir = scratchDir('alembic-schema', dirs);
    const config = writeSqliteConfig(dir, { hooks: true });
    const env = { APP_SQLITE: join(dir, 'app.sqlite'), APP_MIGRATIONS: join(dir, 'migrations') };
    await mikroOrm(['schema:create', '--run'], config, env);
    expect(await tableNames(env.APP_SQLITE)).toHaveLength(8);
    expect(await changesOf(env.APP_SQLITE, ALL)).toEqual(NOTHING);
    expect(await mikroOrm(['schema:update', '--dump'], config, env)).toMatch(/Schema is up-to-date/);
  });

  it('a group added later (migration:create of the diff, up, down): Alembic proposes nothing after each step', async () => {
    const dir = scratchDir('alembic-later', dirs);
    const env = { APP_SQLITE: join(dir, 'app.sqlite'), APP_MIGRATIONS: join(dir, 'migrations') };
    await mikroOrm(['migration:create', '--initial'], writeSqliteConfig(dir, { hooks: true, groups: '[]' }), env);
    await mikroOrm(['migration:up'], writeSqliteConfig(dir, { hooks: true, groups: '[]' }), env);
    expect(await changesOf(env.APP_SQLITE, ['base'])).toEqual(NOTHING);

    const withOauth = writeSqliteConfig(dir, { hooks: true, groups: "['oauth', 'role']" });
    expect(await mikroOrm(['migration:create'], withOauth, env)).toMatch(/created/i);
    await mikroOrm(['migration:up'], withOauth, env);
    expect(await changesOf(env.APP_SQLITE, ['base', 'role', 'oauth'])).toEqual(NOTHING);
    expect(await mikroOrm(['migration:create'], withOauth, env)).toMatch(/No changes required/);

    await mikroOrm(['migration:down'], withOauth, env);
    expect(await tableNames(env.APP_SQLITE)).toEqual(['fullauth_refresh_tokens', 'fullauth_users']);
    expect(await changesOf(env.APP_SQLITE, ['base'])).toEqual(NOTHING);
  });

  for (const { label, include } of GROUP_VARIANTS) {
    const groups = resolveGroups(include);
    for (const hooks of [true, false]) {
      it(`${label}, ${hooks ? 'with fullauthSchemaHooks()' : 'migrations only (fullauthMigrations(), no hooks)'}: initial migration → Alembic proposes nothing, our diff neither`, async () => {
        const file = join(scratchDir('alembic-groups', dirs), 'app.sqlite');
        const orm = await initOtherOrm(
          { kind: 'sqlite', file },
          {
            entities: [...defineFullauthEntities(include)],
            extensions: hooks ? [fullauthSchemaHooks()] : [],
            migrations: { path: scratchDir('migrations', dirs), snapshot: false },
          },
        );
        try {
          await orm.migrator.create(undefined, false, true);
          await orm.migrator.up();
          expect(await changesOf(file, groups)).toEqual(NOTHING);
          expect((await orm.migrator.create()).diff.up).toEqual([]);
        } finally {
          await orm.close();
        }
      });
    }
  }

  it('a table MikroORM rebuilds (SQLite alters a column by copying the table): written again as SQLAlchemy does, Alembic proposes nothing', async () => {
    const file = join(scratchDir('alembic-rebuild', dirs), 'app.sqlite');
    // The rebuild ends with `drop table` of the old copy, which the guard refuses by default.
    const hooks = fullauthSchemaHooks({ allowDestructive: true });
    const orm = await initOtherOrm(
      { kind: 'sqlite', file },
      { entities: [...defineFullauthEntities()], extensions: [hooks], migrations: { path: scratchDir('migrations', dirs), snapshot: false } },
    );
    try {
      await orm.schema.create();
      // An older shape of one table (provider_email not null), which the diff can only rebuild.
      const connection = orm.em.getConnection();
      const [table] = (await connection.execute(`select sql from sqlite_master where name = 'fullauth_oauth_accounts'`)) as { sql: string }[];
      const older = table!.sql.replace('`provider_email` varchar(320) null', '`provider_email` varchar(320) not null');
      expect(older).not.toBe(table!.sql);
      await connection.execute('pragma foreign_keys = off');
      await connection.execute('drop table fullauth_oauth_accounts');
      await connection.execute(older);
      await connection.execute('pragma foreign_keys = on');
      const diff = await orm.schema.getUpdateSchemaSQL();
      expect(diff).toMatch(/^create table `fullauth_oauth_accounts__temp_alter` .*constraint uq_oauth_provider_user unique \(provider, provider_user_id\), .*references fullauth_users \(id\)/m);
      await orm.schema.update();
      expect(await changesOf(file, ALL)).toEqual(NOTHING);
      expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
    } finally {
      await orm.close();
    }
  });

  it("control: MikroORM's plain SQLite DDL (no fullauth hooks or migration generator) gets the 16 changes of the issue", async () => {
    const file = join(scratchDir('alembic-plain', dirs), 'app.sqlite');
    const orm = await plainSqliteOrm(file);
    try {
      await orm.schema.create();
    } finally {
      await orm.close();
    }
    for (const [stack, { changes }] of Object.entries(await alembicCompare(file, ALL))) {
      expect(changes, stack).toHaveLength(16);
      expect(changes.filter((c) => c.startsWith('remove_fk')).every((c) => c.includes('ondelete=None')), stack).toBe(true);
      expect(changes.filter((c) => c.startsWith('add_fk')).every((c) => c.includes('ondelete=CASCADE')), stack).toBe(true);
      expect(changes, stack).toContain('remove_index fullauth_oauth_accounts.uq_oauth_provider_user(provider,provider_user_id)');
      expect(changes, stack).toContain('add_constraint fullauth_oauth_accounts.uq_oauth_provider_user(provider,provider_user_id)');
    }
  });
});

describe.skipIf(!!skip)(`${SQLITE_NAME} shared with fastapi-fullauth: our diff on the tables SQLAlchemy created (${skip ?? STACKS})`, () => {
  for (const hooks of [true, false]) {
    it(`metadata.create_all() by its models → migration:create proposes nothing (${hooks ? 'with fullauthSchemaHooks()' : 'migrations only, no hooks'})`, async () => {
      const dir = scratchDir('alembic-theirs', dirs);
      const env = { APP_SQLITE: join(dir, 'app.sqlite'), APP_MIGRATIONS: join(dir, 'migrations') };
      // The newest SQLAlchemy creates the file; every other one writes the same DDL (in another order at most).
      const [newest, ...older] = [...stacks].reverse();
      const { ddl } = await python<{ ddl: string[] }>({ op: 'create', file: env.APP_SQLITE, groups: ALL }, newest!);
      expect(ddl.join('\n')).toContain('CONSTRAINT uq_oauth_provider_user UNIQUE (provider, provider_user_id)');
      for (const stack of older) {
        const theirs = await python<{ ddl: string[] }>({ op: 'create', file: join(dir, `${older.indexOf(stack)}.sqlite`), groups: ALL }, stack);
        expect([...theirs.ddl].sort(), `${stack.name} against ${newest!.name}`).toEqual([...ddl].sort());
      }
      expect(await changesOf(env.APP_SQLITE, ALL)).toEqual(NOTHING);
      const config = writeSqliteConfig(dir, { hooks });
      expect(await mikroOrm(['migration:create'], config, env)).toMatch(/No changes required/);
    });
  }
});
