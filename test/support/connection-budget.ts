// PostgreSQL's connections are shared by the run's two workers (default `max_connections` 100,
// three of them reserved). A test file that keeps pools open from test to test holds their
// connections while the other worker's file runs; the two together once reached 94 and a test
// failed with `sorry, too many clients already`, on whichever file asked last. This budget makes
// such a file fail itself, every time, naming its databases: after each test, the databases
// made and not yet dropped in this worker may hold at most CONNECTION_BUDGET connections
// (a test's own pools, closed when it ends, are not counted). Checked after every test by
// test/support/connection-budget-setup.ts (vitest.config.ts `setupFiles`);
// test/connection-budget.test.ts proves it catches a file that keeps too many.
import pg from 'pg';

/** Connections a worker may keep open between its tests: two workers' worth stays far below 97. */
export const CONNECTION_BUDGET = 30;

/** Databases this worker made (test/support/postgres.ts) and has not dropped, and the server's admin URL. */
const live = new Set<string>();
let adminUrl = '';

export function databaseMade(name: string, url: string): void {
  live.add(name);
  adminUrl = url;
}

export function databaseDropped(name: string): void {
  live.delete(name);
}

/** Throws when the live databases of this worker hold more than `budget` connections. */
export async function checkConnectionBudget(budget = CONNECTION_BUDGET): Promise<void> {
  if (live.size === 0) return;
  const client = new pg.Client(adminUrl);
  await client.connect();
  let rows: { datname: string; n: number }[];
  try {
    ({ rows } = await client.query<{ datname: string; n: number }>(
      'select datname, count(*)::int as n from pg_stat_activity where datname = any($1) group by datname order by n desc',
      [[...live]],
    ));
  } finally {
    await client.end();
  }
  const held = rows.reduce((sum, row) => sum + row.n, 0);
  if (held > budget) {
    throw new Error(
      `This test file keeps ${held} PostgreSQL connections open between its tests (${rows.map((r) => `${r.datname}: ${r.n}`).join(', ')}), ` +
        `more than the ${budget} a worker may keep (test/support/connection-budget.ts): close the ORMs and drop the databases of each test in afterEach, not afterAll.`,
    );
  }
}
