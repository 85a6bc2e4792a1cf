#!/usr/bin/env node
// `npx mikro-orm-fullauth <command>`: runs against the host's MikroORM config, found the way
// the `mikro-orm` CLI finds it (package.json "mikro-orm".configPaths, ./mikro-orm.config.ts, …).
//
// Only node: modules are imported up front: the Node.js version is checked against the
// installed MikroORM (7 needs Node.js 22.17) before MikroORM or any module of this package loads.
// This file is the `bin` (dist/cli.js) and exists as an ES module only (tsconfig.build.cjs.json
// leaves it out of dist/cjs/); when a CommonJS host's config loaded dist/cjs/, the commands run
// with that copy (see commandModules()).
import { readFileSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { MikroORM } from '@mikro-orm/core';
import type { FullauthGroup } from './groups.js';
import type { FullauthMigratorOptions } from './managed.js';

const require = createRequire(import.meta.url);

const help = (groups: readonly string[]) => `Usage: mikro-orm-fullauth <command> [options]

Commands:
  check              compare the fullauth tables with what the included groups expect;
                     exits 1 on any difference (for CI)
  diagram            print a Mermaid ER diagram of the included tables
  migrate            apply the pending fullauth migrations (managed mode)
  sql                print the SQL of the pending fullauth migrations without applying it
                     (managed mode; for a DBA to review and run)
  status             list applied and pending fullauth migrations (managed mode)

check, status, sql and diagram only read: they never create a database, schema or table
(a missing database is an error naming it).

Options:
  --config <path>    the MikroORM config file (default: as the mikro-orm CLI finds it)
  --offline          diagram: no config, the default groups (with --include to choose)
  --include <groups> diagram --offline: comma-separated groups (${groups.join(', ')});
                     with a config, its entities decide the groups
  --migrations-table <name>  migrate, status, sql: the tracking table (default fullauth_migrations)
  --from <version>   sql: every migration after this version (0000: from nothing), without
                     reading the database; default: what the database has not applied
  --to <version>     sql: up to this version (default: the newest)
  -h, --help         this help
`;

/** The Node.js MikroORM 7 needs (its @mikro-orm/core `engines`: ">= 22.17.0"). */
export const MIKRO_ORM_7_NODE = '22.17.0';

/**
 * What is wrong when the installed MikroORM cannot run on this Node.js, or undefined when it
 * can (or no MikroORM is found: the command then says what is missing itself).
 * `mikroOrm` is @mikro-orm/core's package.json: MikroORM 7 or later needs Node.js 22.17 (or
 * what its `engines` asks when that is a plain `>= x.y.z`); MikroORM 6 runs on Node.js 20.
 */
export function nodeVersionProblem(nodeVersion: string, mikroOrm: { version?: string; engines?: { node?: string } } | undefined): string | undefined {
  const major = Number.parseInt(mikroOrm?.version ?? '', 10);
  if (!(major >= 7)) return undefined;
  const engines = /^\s*>=\s*v?(\d+\.\d+\.\d+)\s*$/.exec(mikroOrm?.engines?.node ?? '')?.[1];
  const needed = engines && compareVersions(engines, MIKRO_ORM_7_NODE) > 0 ? engines : MIKRO_ORM_7_NODE;
  const running = nodeVersion.replace(/^v/, '');
  if (compareVersions(running, needed) >= 0) return undefined;
  return (
    `mikro-orm-fullauth: MikroORM ${mikroOrm!.version} (installed here) needs Node.js ${needed} or later; this is Node.js ${running}.\n` +
    `Get it, for instance, as a dev dependency of the project (npm install --save-dev node@22, then run the CLIs through npx or npm scripts), ` +
    `with nvm (nvm install 22), or from your distribution or nodejs.org; or use MikroORM 6.6, which runs on Node.js 20. See docs/install.md.\n`
  );
}

/** Compares dotted numeric versions ("22.9.0" < "22.17.0"). */
function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((n) => Number.parseInt(n, 10) || 0);
  const pb = b.split('.').map((n) => Number.parseInt(n, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return Math.sign(d);
  }
  return 0;
}

/** @mikro-orm/core's package.json as this package resolves it, read without loading MikroORM. */
function installedMikroOrm(): { version?: string; engines?: { node?: string } } | undefined {
  try {
    return JSON.parse(readFileSync(require.resolve('@mikro-orm/core/package.json'), 'utf8')) as { version?: string; engines?: { node?: string } };
  } catch {
    return undefined;
  }
}

/** What is refused before any config is loaded: options that the command would not use. */
export function optionProblem(
  command: string,
  values: { offline?: boolean; include?: string; from?: string; to?: string; 'migrations-table'?: string },
): string | undefined {
  if (values.offline && command !== 'diagram') return `--offline applies to the diagram command only, not to '${command}'.`;
  for (const option of ['from', 'to'] as const) {
    if (values[option] === undefined) continue;
    if (command !== 'sql') return `--${option} applies to the sql command only, not to '${command}'.`;
    if (!/^\d{1,4}$/.test(values[option]!)) {
      return `--${option} must be a version of the fullauth stream such as 0001 (0000: before the first migration), got '${values[option]}'.`;
    }
  }
  if (values['migrations-table'] !== undefined && !['migrate', 'status', 'sql'].includes(command)) {
    return `--migrations-table applies to migrate, status and sql, not to '${command}'.`;
  }
  if (values.include !== undefined && !(command === 'diagram' && values.offline)) {
    return (
      `--include chooses the groups of 'diagram --offline' (no config, no database); with a config the groups are ` +
      `those of its entities (defineFullauthEntities()). Add --offline to draw other groups, or leave --include out.`
    );
  }
  return undefined;
}

async function main(argv: string[]): Promise<number> {
  const nodeProblem = nodeVersionProblem(process.versions.node, installedMikroOrm());
  if (nodeProblem) {
    process.stderr.write(nodeProblem);
    return 1;
  }
  const { FULLAUTH_GROUPS } = await import('./groups.js');
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string' },
      offline: { type: 'boolean' },
      include: { type: 'string' },
      'migrations-table': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command] = positionals;
  if (values.help || !command) {
    process.stdout.write(help(FULLAUTH_GROUPS));
    return command || values.help ? 0 : 1;
  }
  if (!['check', 'diagram', 'migrate', 'sql', 'status'].includes(command)) {
    process.stderr.write(`Unknown command '${command}'. Valid commands: check, diagram, migrate, sql, status.\n\n${help(FULLAUTH_GROUPS)}`);
    return 1;
  }
  const refused = optionProblem(command, values);
  if (refused) {
    process.stderr.write(`mikro-orm-fullauth: ${refused}\n`);
    return 1;
  }
  if (command === 'diagram' && values.offline) {
    const include = values.include?.split(',').map((g) => g.trim()) as FullauthGroup[] | undefined;
    const [{ getFullauthMetadata }, { renderFullauthDiagram }] = await Promise.all([import('./metadata.js'), import('./diagram.js')]);
    process.stdout.write(renderFullauthDiagram(await getFullauthMetadata({ include })));
    return 0;
  }
  // Checked before the config is loaded (an empty name would be an SQL error, a long one cut by PostgreSQL).
  const tableName = values['migrations-table'];
  if (tableName !== undefined) {
    const naming: typeof import('./naming.js') = await import('./naming.js');
    naming.assertTrackingTable(tableName, '--migrations-table');
  }
  const { loadCliOrm } = await import('./orm-compat.js');
  const orm = await loadCliOrm(values.config, { readOnly: command !== 'migrate' });
  try {
    return await run(command, orm, { tableName }, await commandModules(), { from: values.from, to: values.to });
  } finally {
    await orm.close();
  }
}

/** The modules the commands run with. */
interface CommandModules {
  check: typeof import('./check.js');
  presence: typeof import('./database-presence.js');
  diagram: typeof import('./diagram.js');
  metadata: typeof import('./metadata.js');
  managed: typeof import('./managed.js');
  compat: typeof import('./orm-compat.js');
}

/**
 * The commands run with the copy of this package that the host's config loaded: the fullauth
 * entities are known to the module that built them (build-schema.ts), so a CommonJS config's
 * entities (dist/cjs/) are not this ES module's. A CommonJS config's `require()` puts dist/cjs/
 * in `require.cache`; otherwise (an ES-module config, or this file run from src/) it is this copy.
 */
async function commandModules(): Promise<CommandModules> {
  const cjs = fileURLToPath(new URL('./cjs/', import.meta.url));
  if (Object.keys(require.cache).some((file) => file.startsWith(cjs))) {
    const load = <T>(name: string) => require(join(cjs, `${name}.js`)) as T;
    return {
      check: load('check'),
      presence: load('database-presence'),
      diagram: load('diagram'),
      metadata: load('metadata'),
      managed: load('managed'),
      compat: load('orm-compat'),
    };
  }
  const [check, presence, diagram, metadata, managed, compat] = await Promise.all([
    import('./check.js'),
    import('./database-presence.js'),
    import('./diagram.js'),
    import('./metadata.js'),
    import('./managed.js'),
    import('./orm-compat.js'),
  ]);
  return { check, presence, diagram, metadata, managed, compat };
}

/** check, status, sql and diagram only read; check, status and sql (without --from) need the database, which must exist. */
async function run(
  command: string,
  orm: MikroORM,
  migratorOptions: FullauthMigratorOptions,
  m: CommandModules,
  versions: { from?: string; to?: string } = {},
): Promise<number> {
  switch (command) {
    case 'sql': {
      // Read-only. With --from the database is not read at all; without it, it must exist.
      const migrator = m.managed.fullauthMigrator(orm, migratorOptions);
      if (versions.from === undefined) await m.presence.assertDatabaseExists(orm);
      process.stdout.write(await migrator.sql(versions));
      return 0;
    }
    case 'check': {
      await m.presence.assertDatabaseExists(orm);
      const report = await m.check.checkFullauthSchema(orm);
      process.stdout.write(`${m.check.formatFullauthReport(report)}\n`);
      return report.ok ? 0 : 1;
    }
    case 'diagram':
      // The metadata only: no connection.
      process.stdout.write(m.diagram.renderFullauthDiagram(await m.metadata.getFullauthMetadata(orm)));
      return 0;
    case 'migrate': {
      const migrator = m.managed.fullauthMigrator(orm, migratorOptions);
      await m.compat.ensureCliDatabase(orm);
      const applied = await migrator.up();
      process.stdout.write(applied.length ? `Applied ${applied.join(', ')}\n` : 'fullauth migrations: up to date\n');
      return 0;
    }
    default: {
      // The options are checked against the config's naming before the database is asked.
      let migrator: ReturnType<typeof m.managed.fullauthMigrator>;
      try {
        migrator = m.managed.fullauthMigrator(orm, migratorOptions);
      } catch (error) {
        // A config managed mode does not cover is not an error to ask about: say who migrates it.
        if (!(error instanceof m.managed.ManagedModeNotCoveredError)) throw error;
        process.stdout.write(
          `fullauth migrations: managed mode is not used with this config (${error.message})\n` +
            `Its fullauth tables are migrated by the host's Migrator: npx mikro-orm migration:list\n`,
        );
        return 0;
      }
      await m.presence.assertDatabaseExists(orm);
      const status = await migrator.status();
      for (const name of status.executed) process.stdout.write(`applied  ${name}\n`);
      for (const name of status.pending) process.stdout.write(`pending  ${name}\n`);
      return 0;
    }
  }
}

/** Run as the bin (dist/cli.js, or src/cli.ts through tsx), not when imported (by the tests). */
function isEntry(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntry()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`mikro-orm-fullauth: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exit(1);
    },
  );
}
