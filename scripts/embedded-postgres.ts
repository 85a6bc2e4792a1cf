// Embedded PostgreSQL (PGlite) as a Kysely dialect for MikroORM's `driverOptions`.
// kysely-pglite-dialect sends everything as a prepared statement, which PostgreSQL refuses
// for several statements at once; MikroORM's schema generator sends its DDL batched
// (`orm.schema.create()`), so parameterless batches go through PGlite's `exec` instead.
import { mkdirSync } from 'node:fs';
import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import type { CompiledQuery, DatabaseConnection, Dialect, QueryResult } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';

const isBatch = (sql: string): boolean => /;\s*\n\s*\S/.test(sql.trim());
const patched = new WeakSet<DatabaseConnection>();

/** `dataDir` omitted: in memory. `options`: PGlite's own (the tests start from a dumped fresh cluster: `loadDataDir`). */
export function embeddedPostgres(dataDir?: string, options?: PGliteOptions): Dialect {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  // (`new PGlite(undefined, options)` would drop the options: the one-argument form takes them.)
  const pglite = options ? (dataDir ? new PGlite(dataDir, options) : new PGlite(options)) : new PGlite(dataDir);
  const dialect = new PGliteDialect(pglite);
  const createDriver = dialect.createDriver.bind(dialect);
  dialect.createDriver = () => {
    const driver = createDriver();
    const acquire = driver.acquireConnection.bind(driver);
    driver.acquireConnection = async () => {
      const connection = await acquire();
      if (!patched.has(connection)) {
        const execute = connection.executeQuery.bind(connection);
        connection.executeQuery = async <R>(query: CompiledQuery): Promise<QueryResult<R>> => {
          if (query.parameters.length > 0 || !isBatch(query.sql)) return execute<R>(query);
          const results = await pglite.exec(query.sql);
          return { rows: (results.at(-1)?.rows ?? []) as R[] };
        };
        patched.add(connection);
      }
      return connection;
    };
    return driver;
  };
  return dialect;
}
