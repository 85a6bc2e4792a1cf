// The PostgreSQL connection budget (test/support/connection-budget.ts), checked after every test
// of the suite: a file that keeps more connections open between its tests than a worker may
// fails with an error naming its databases and the fix.
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { CONNECTION_BUDGET, checkConnectionBudget } from './support/connection-budget.js';
import { createDatabase, skipPostgres, type TestDatabase } from './support/postgres.js';

describe.skipIf(skipPostgres)('the PostgreSQL connection budget of a test file', () => {
  let db: TestDatabase | undefined;
  let pool: pg.Pool | undefined;
  afterEach(async () => {
    await pool?.end();
    await db?.drop();
    pool = db = undefined;
  });

  it(`refuses a database kept with more than ${CONNECTION_BUDGET} open connections, names it and the fix; passes once they are closed`, async () => {
    db = await createDatabase('budget');
    pool = new pg.Pool({ connectionString: db.url, max: CONNECTION_BUDGET + 1 });
    // Every connection of the pool opened at once, and kept (idle) as a race's pool keeps them.
    const clients = await Promise.all(Array.from({ length: CONNECTION_BUDGET + 1 }, () => pool!.connect()));
    for (const client of clients) client.release();
    await expect(checkConnectionBudget()).rejects.toThrow(new RegExp(`keeps ${CONNECTION_BUDGET + 1} PostgreSQL connections open between its tests \\(${db.name}: ${CONNECTION_BUDGET + 1}\\).*afterEach, not afterAll`));
    await pool.end();
    pool = undefined;
    // The server's record of a closed connection goes a moment after the client's end().
    await expect.poll(() => checkConnectionBudget().then(() => 'within', (e: Error) => e.message), { timeout: 5000 }).toBe('within');
  });

  it('counts only the databases not yet dropped', async () => {
    const kept = await createDatabase('budget');
    const client = new pg.Client(kept.url);
    // drop() (with force) ends this connection from the server's side.
    client.on('error', () => undefined);
    await client.connect();
    try {
      await expect(checkConnectionBudget(0)).rejects.toThrow(new RegExp(`${kept.name}: 1`));
      await kept.drop();
      await expect(checkConnectionBudget(0)).resolves.toBeUndefined();
    } finally {
      await client.end().catch(() => undefined);
    }
  });
});
