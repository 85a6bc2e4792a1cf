#!/usr/bin/env node
// `npx mikro-orm-fullauth <command>`: runs against the host's MikroORM config, found the way
// the `mikro-orm` CLI finds it (package.json "mikro-orm".configPaths, ./mikro-orm.config.ts, …).
import { parseArgs } from 'node:util';
import type { MikroORM } from '@mikro-orm/core';
import { checkFullauthSchema, formatFullauthReport } from './check.js';
import { assertDatabaseExists } from './database-presence.js';
import { renderFullauthDiagram } from './diagram.js';
import { FULLAUTH_GROUPS, type FullauthGroup } from './groups.js';
import { getFullauthMetadata } from './metadata.js';
import { fullauthMigrator, type FullauthMigratorOptions } from './managed.js';
import { assertTrackingTable } from './naming.js';
import { ensureCliDatabase, loadCliOrm } from './orm-compat.js';

const HELP = `Usage: mikro-orm-fullauth <command> [options]

Commands:
  check              compare the fullauth tables with what the included groups expect;
                     exits 1 on any difference (for CI)
  diagram            print a Mermaid ER diagram of the included tables
  migrate            apply the pending fullauth migrations (managed mode)
  status             list applied and pending fullauth migrations (managed mode)

check, status and diagram only read: they never create a database, schema or table
(a missing database is an error naming it).

Options:
  --config <path>    the MikroORM config file (default: as the mikro-orm CLI finds it)
  --offline          diagram: no config, the default groups (with --include to choose)
  --include <groups> diagram --offline: comma-separated groups (${FULLAUTH_GROUPS.join(', ')})
  --migrations-table <name>  migrate, status: the tracking table (default fullauth_migrations)
  -h, --help         this help
`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      offline: { type: 'boolean' },
      include: { type: 'string' },
      'migrations-table': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    process.stdout.write(HELP);
    return command || values.help ? 0 : 1;
  }
  if (command === 'diagram' && values.offline) {
    const include = values.include?.split(',').map((g) => g.trim()) as FullauthGroup[] | undefined;
    process.stdout.write(renderFullauthDiagram(await getFullauthMetadata({ include })));
    return 0;
  }
  if (!['check', 'diagram', 'migrate', 'status'].includes(command)) {
    process.stderr.write(`Unknown command '${command}'. Valid commands: check, diagram, migrate, status.\n\n${HELP}`);
    return 1;
  }
  // Checked before the config is loaded (an empty name would be an SQL error, a long one cut by PostgreSQL).
  const tableName = values['migrations-table'];
  if (tableName !== undefined) assertTrackingTable(tableName, '--migrations-table');
  const orm = await loadCliOrm(values.config, { readOnly: command !== 'migrate' });
  try {
    return await run(command, orm, { tableName });
  } finally {
    await orm.close();
  }
}

/** check, status and diagram only read; check and status need the database, which must exist. */
async function run(command: string, orm: MikroORM, migratorOptions: FullauthMigratorOptions): Promise<number> {
  switch (command) {
    case 'check': {
      await assertDatabaseExists(orm);
      const report = await checkFullauthSchema(orm);
      process.stdout.write(`${formatFullauthReport(report)}\n`);
      return report.ok ? 0 : 1;
    }
    case 'diagram':
      // The metadata only: no connection.
      process.stdout.write(renderFullauthDiagram(await getFullauthMetadata(orm)));
      return 0;
    case 'migrate': {
      const migrator = fullauthMigrator(orm, migratorOptions);
      await ensureCliDatabase(orm);
      const applied = await migrator.up();
      process.stdout.write(applied.length ? `Applied ${applied.join(', ')}\n` : 'fullauth migrations: up to date\n');
      return 0;
    }
    default: {
      // The options are checked against the config's naming before the database is asked.
      const migrator = fullauthMigrator(orm, migratorOptions);
      await assertDatabaseExists(orm);
      const status = await migrator.status();
      for (const name of status.executed) process.stdout.write(`applied  ${name}\n`);
      for (const name of status.pending) process.stdout.write(`pending  ${name}\n`);
      return 0;
    }
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`mikro-orm-fullauth: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
