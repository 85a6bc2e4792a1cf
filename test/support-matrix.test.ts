// The support matrix in docs/databases.md is kept honest: every cell is run against the
// real database. `yes` must work; `no` must be refused with a FullauthConfigError naming
// the database (any other failure fails the test).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  FullauthConfigError,
  checkFullauthSchema,
  createFullauthStore,
  defineFullauthEntities,
  fullauthMigrator,
  fullauthSchemaHooks,
  getFullauthMetadata,
  renderFullauthDiagram,
  resolveGroups,
  type FullauthOptions,
} from '../src/index.js';
import { MIKRO_ORM_6 } from './support/compat.js';
import { initOtherOrm, removeDirs, scratchDir } from './support/databases.js';
import { fastapiFullauthDdl, type FixtureDialect } from './support/fixture.js';
import { MYSQL_FAMILY, createMariaDb, skipMariaDb, type TestMariaDb } from './support/mariadb.js';
import { initOrm } from './support/orm.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

const dirs: string[] = [];
const cleanups: (TestDatabase | TestMariaDb)[] = [];
afterAll(async () => {
  await Promise.all(cleanups.map((db) => db.drop()));
  removeDirs(dirs);
});

type Orm = Awaited<ReturnType<typeof initOtherOrm>>;
interface Setup {
  entities?: FullauthOptions;
  hooks?: boolean;
}

interface Backend {
  column: string;
  /** How a refusal names this database. */
  named: RegExp;
  /** Why it cannot run here: no server answers (outside CI), or this MikroORM version lacks the way in. */
  skip: string | false;
  /** The reason above is the MikroORM version's (the versions table says `no`). */
  versionSkip?: boolean;
  fixture: FixtureDialect;
  connect(setup?: Setup): Promise<Orm>;
}

const ormOptions = (setup: Setup = {}) => ({
  entities: [...defineFullauthEntities(undefined, setup.entities)],
  extensions: setup.hooks ? [fullauthSchemaHooks()] : [],
  migrations: { path: scratchDir('matrix', dirs), snapshot: false },
});

const BACKENDS: Backend[] = [
  {
    column: 'PostgreSQL',
    named: /PostgreSQL/,
    skip: skipPostgres && 'no PostgreSQL server answers (outside CI only)',
    fixture: 'postgres',
    async connect(setup) {
      const db = await createDatabase('matrix');
      cleanups.push(db);
      return (await initOrm({ kind: 'postgres', url: db.url }, ormOptions(setup))) as unknown as Orm;
    },
  },
  {
    column: 'PGlite',
    named: /PostgreSQL/,
    skip: false,
    fixture: 'postgres',
    connect: async (setup) => (await initOrm({ kind: 'pglite' }, { ...ormOptions(setup), migrations: { ...ormOptions(setup).migrations, allOrNothing: false } })) as unknown as Orm,
  },
  {
    column: 'MariaDB',
    named: /MariaDB/i,
    skip: skipMariaDb && 'no MariaDB server answers (outside CI only)',
    fixture: 'mysql',
    async connect(setup) {
      const db = await createMariaDb('matrix');
      cleanups.push(db);
      return initOtherOrm({ kind: 'mariadb', url: db.url }, ormOptions(setup));
    },
  },
  {
    // MySQL itself (scripts/mysql-server.sh), through MikroORM's MySQL driver.
    column: 'MySQL',
    named: /MySQL/,
    skip: MYSQL_FAMILY.mysql.skip ?? false,
    fixture: 'mysql',
    async connect(setup) {
      const db = await createMariaDb('matrix', 'mysql');
      cleanups.push(db);
      return initOtherOrm({ kind: 'mysql', url: db.url }, ormOptions(setup));
    },
  },
  {
    // node:sqlite on MikroORM 7, libSQL (`@mikro-orm/libsql`) on MikroORM 6 (initOtherOrm()).
    column: 'SQLite',
    named: /SQLite/i,
    skip: false,
    fixture: 'sqlite',
    connect: (setup) => initOtherOrm({ kind: 'sqlite', file: join(scratchDir('matrix-sqlite', dirs), 'db.sqlite') }, ormOptions(setup)),
  },
];

const sql = (orm: Orm, text: string) => orm.em.getConnection().execute(text, [], 'run');
const statements = (ddl: string) =>
  ddl.split(/;\s*\n/).map((s) => s.replace(/^--.*$/gm, '').trim()).filter(Boolean);

/** Each feature of the matrix, exercised for real; resolves when it works. */
const PROBES: Record<string, (backend: Backend) => Promise<void>> = {
  'entities + Migrator (`migration:create`, `up`, `down`)': async (backend) => {
    const orm = await backend.connect();
    try {
      await orm.migrator.create(undefined, false, true);
      await orm.migrator.up();
      expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
      await orm.migrator.down();
      expect(await orm.schema.getUpdateSchemaSQL()).toMatch(/create table .fullauth_users/);
    } finally {
      await orm.close();
    }
  },
  'zero-diff adoption of a fastapi-fullauth database': async (backend) => {
    const orm = await backend.connect({ hooks: true });
    try {
      for (const statement of statements(fastapiFullauthDdl(resolveGroups(undefined), backend.fixture))) await sql(orm, statement);
      expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
      expect((await orm.migrator.create()).diff.up).toEqual([]);
    } finally {
      await orm.close();
    }
  },
  '`getFullauthMetadata()`': async (backend) => {
    const orm = await backend.connect();
    try {
      const storage = await getFullauthMetadata(orm);
      expect([...storage].map((meta) => meta.className).sort()).toHaveLength(8);
      const offline = await getFullauthMetadata({ driver: orm.config.getDriver().constructor as never });
      expect(offline.getByClassName('FullauthUser').tableName).toBe('fullauth_users');
    } finally {
      await orm.close();
    }
  },
  '`fullauthSchemaHooks()`': async (backend) => {
    const orm = await backend.connect({ hooks: true });
    try {
      await orm.schema.create();
      expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
    } finally {
      await orm.close();
    }
  },
  '`checkFullauthSchema()` / `mikro-orm-fullauth check`': async (backend) => {
    const orm = await backend.connect();
    try {
      await orm.schema.create();
      expect((await checkFullauthSchema(orm)).ok).toBe(true);
    } finally {
      await orm.close();
    }
  },
  "`idStrategy: 'bigint'`": async (backend) => {
    const orm = await backend.connect({ entities: { idStrategy: 'bigint' } });
    try {
      await orm.schema.create();
      const [entity] = [...orm.getMetadata()].filter((meta) => meta.className === 'FullauthUser');
      const em = orm.em.fork();
      const user = em.create(entity!.class as never, { email: 'a@example.com' } as never) as { id: string };
      await em.flush();
      expect(user.id).toMatch(/^\d+$/);
    } finally {
      await orm.close();
    }
  },
  '`schema` option (tables in another schema)': async (backend) => {
    const orm = await backend.connect({ entities: { schema: 'auth' } });
    try {
      await orm.schema.create();
      expect(await orm.schema.getUpdateSchemaSQL()).toBe('');
      expect((await checkFullauthSchema(orm)).ok).toBe(true);
    } finally {
      await orm.close();
    }
  },
  'Mermaid diagram (`mikro-orm-fullauth diagram`)': async (backend) => {
    const orm = await backend.connect();
    try {
      const diagram = renderFullauthDiagram(await getFullauthMetadata(orm));
      expect(diagram).toContain('fullauth_users ||--o{ fullauth_refresh_tokens : "user_id"');
    } finally {
      await orm.close();
    }
  },
  'managed mode (`mikro-orm-fullauth migrate`)': async (backend) => {
    const orm = await backend.connect();
    try {
      expect(await fullauthMigrator(orm as never).up()).toHaveLength(5);
    } finally {
      await orm.close();
    }
  },
  'auth store (`createFullauthStore()`)': async (backend) => {
    const orm = await backend.connect();
    try {
      await orm.schema.create();
      const user = await createFullauthStore(orm.em).createUser({ email: 'Ada@Example.com' });
      expect(user.email).toBe('ada@example.com');
    } finally {
      await orm.close();
    }
  },
};

function readMatrix(name: string): { columns: string[]; rows: { feature: string; cells: string[] }[] } {
  const page = readFileSync(new URL('../docs/databases.md', import.meta.url), 'utf8');
  const block = new RegExp(`<!-- ${name}:start -->\\n([\\s\\S]*?)<!-- ${name}:end -->`).exec(page)?.[1] ?? '';
  const cells = (line: string) => line.split('|').slice(1, -1).map((c) => c.trim());
  const [header, , ...body] = block.trim().split('\n');
  return { columns: cells(header!).slice(1), rows: body.map((line) => ({ feature: cells(line)[0]!, cells: cells(line).slice(1) })) };
}

const matrix = readMatrix('support-matrix');
const versions = readMatrix('versions-matrix');
const VERSION_COLUMN = MIKRO_ORM_6 ? 'MikroORM 6.6 (Node 20+)' : 'MikroORM 7.2 (Node 22)';

describe('the versions table in docs/databases.md', () => {
  it(`says which databases run on ${VERSION_COLUMN}: exactly those this job runs`, () => {
    expect(versions.columns).toEqual(['MikroORM 7.2 (Node 22)', 'MikroORM 6.6 (Node 20+)']);
    expect(versions.rows.map((r) => r.feature)).toEqual(BACKENDS.map((b) => b.column));
    const column = versions.columns.indexOf(VERSION_COLUMN);
    for (const backend of BACKENDS) {
      const row = versions.rows.find((r) => r.feature === backend.column)!;
      expect({ database: backend.column, runs: row.cells[column] }).toEqual({ database: backend.column, runs: backend.versionSkip ? 'no' : 'yes' });
    }
  });
});

describe('the support matrix in docs/databases.md', () => {
  it('names every database and every feature the test knows, and nothing else', () => {
    expect(matrix.columns).toEqual(BACKENDS.map((b) => b.column));
    expect(matrix.rows.map((r) => r.feature).sort()).toEqual(Object.keys(PROBES).sort());
    expect(new Set(matrix.rows.flatMap((r) => r.cells))).toEqual(new Set(['yes', 'no']));
  });

  for (const [index, backend] of BACKENDS.entries()) {
    describe.skipIf(!!backend.skip)(`${backend.column}${backend.skip ? ` (${backend.skip})` : ''}`, () => {
      for (const row of matrix.rows) {
        const expected = row.cells[index];
        it(`${row.feature}: ${expected}`, async () => {
          const outcome = await PROBES[row.feature]!(backend).then(
            () => 'yes',
            (error: unknown) => {
              // A refusal names this database and where the feature works.
              if (
                error instanceof FullauthConfigError &&
                /not supported on|for PostgreSQL only/.test(error.message) &&
                backend.named.test(error.message) &&
                /PostgreSQL/.test(error.message)
              ) {
                return 'no';
              }
              throw error;
            },
          );
          expect(outcome).toBe(expected);
        });
      }
    });
  }
});
