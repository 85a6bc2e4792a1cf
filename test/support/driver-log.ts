// What the `pg` driver itself receives: every query's text and its bound values, recorded
// at pg.Client#query (MikroORM 7 reaches it through Kysely, MikroORM 6 through knex).
import pg from 'pg';

export interface DriverQuery {
  text: string;
  values: unknown[];
}

/** Starts recording; `stop()` puts pg.Client#query back. */
export function recordDriverQueries(): { queries: DriverQuery[]; stop(): void } {
  const original = pg.Client.prototype.query;
  const queries: DriverQuery[] = [];
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    const [first, second] = args as [string | { text?: string; values?: unknown[] }, unknown];
    if (typeof first === 'string') queries.push({ text: first, values: Array.isArray(second) ? second : [] });
    else if (first && typeof first === 'object' && typeof first.text === 'string') queries.push({ text: first.text, values: first.values ?? [] });
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof pg.Client.prototype.query;
  return {
    queries,
    stop: () => {
      pg.Client.prototype.query = original;
    },
  };
}
