import type { MikroORM } from '@mikro-orm/core';
import { checkFullauthSchema, formatFullauthReport, type FullauthSchemaReport } from './check.js';
import { FullauthConfigError, showValue } from './errors.js';
import { fullauthMigrator, type FullauthMigratorOptions } from './managed.js';
import { assertTrackingTable } from './naming.js';
import { assertOptionalBoolean, readOptions, rejectUnknownKeys } from './read-options.js';

/** Every option may be left out or set to `null`: both mean "the default". */
export interface AssertFullauthSchemaOptions {
  /**
   * Whether the fullauth tables are versioned by the managed stream. Default: when the stream
   * has applied anything to this database (and covers its config and database). `true`: the stream is required (no tracking table: everything
   * is pending). `false`: pending managed migrations are not looked at.
   */
  managed?: boolean | null;
  /** The managed stream's tracking table, if not `fullauth_migrations` (as given to fullauthMigrator()). */
  migrationsTable?: string | null;
}

/** What the start-up guard found: the drift report and the pending managed migrations. */
export class FullauthSchemaNotReadyError extends FullauthConfigError {
  override name = 'FullauthSchemaNotReadyError';
  readonly report: FullauthSchemaReport;
  readonly pending: readonly string[];
  constructor(report: FullauthSchemaReport, pending: readonly string[]) {
    const lines = ['The fullauth tables are not ready; refusing to start.'];
    if (pending.length > 0) {
      lines.push(
        `Managed fullauth migrations pending: ${pending.join(', ')}. Apply them with \`npx mikro-orm-fullauth migrate\` ` +
          `(or fullauthMigrator(orm).up()); \`npx mikro-orm-fullauth sql\` prints their SQL for review.`,
      );
    }
    if (!report.ok) lines.push(formatFullauthReport(report));
    super(lines.join('\n'));
    this.report = report;
    this.pending = pending;
  }
}

/**
 * The start-up guard: resolves when the fullauth tables are what the entities expect (the
 * check of `checkFullauthSchema()`) and no managed migration is pending; otherwise throws a
 * `FullauthSchemaNotReadyError` listing both. It only reads: it creates nothing.
 */
export async function assertFullauthSchema(orm: MikroORM, given?: AssertFullauthSchemaOptions | null): Promise<void> {
  const options = readOptions(given, 'assertFullauthSchema() options');
  rejectUnknownKeys(options, ['managed', 'migrationsTable'], 'assertFullauthSchema() option');
  assertOptionalBoolean(options.managed, 'managed');
  if (options.migrationsTable !== undefined) assertTrackingTable(options.migrationsTable, 'migrationsTable');
  if (typeof orm !== 'object' || orm === null || typeof orm.getMetadata !== 'function') {
    throw new FullauthConfigError(`assertFullauthSchema() needs a MikroORM instance, got ${showValue(orm)}.`);
  }
  const migratorOptions: FullauthMigratorOptions = { tableName: options.migrationsTable };
  let pending: string[] = [];
  if (options.managed !== false) {
    let migrator: ReturnType<typeof fullauthMigrator> | undefined;
    try {
      migrator = fullauthMigrator(orm, migratorOptions);
    } catch (error) {
      // A config or a database the stream does not cover is migrated by the host: only the drift counts.
      if (options.managed === true || !(error instanceof FullauthConfigError)) throw error;
    }
    if (migrator) {
      const status = await migrator.status();
      if (options.managed === true || status.executed.length > 0) pending = status.pending;
    }
  }
  const report = await checkFullauthSchema(orm);
  if (!report.ok || pending.length > 0) throw new FullauthSchemaNotReadyError(report, pending);
}
