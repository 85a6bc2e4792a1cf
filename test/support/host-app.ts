// Builds and packs this package, installs the tarball with npm the way a user would (once per
// test run), and makes host applications on that install in temporary folders, for the CLI tests.
import { copyFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { MIKRO_ORM_6 } from './compat.js';
import { packDir, sharedOnce } from './run-shared.js';
import { runCommand } from './spawn.js';

export { packDir };

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The version the tests run with (the root's devDependencies, or ci/mikro-orm-6's set). */
const pkg = (name: string): string => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return `${name}@${version}`;
};

/** A host-app command's exit status and output (stdout, then stderr). */
export interface HostResult {
  status: number;
  output: string;
}

export interface HostApp {
  dir: string;
  /**
   * Runs a command in the host app with Node 22 first on the PATH and a user's environment.
   * Asynchronous: a worker blocked in spawnSync through several commands cannot answer
   * vitest's RPC ("Timeout calling onTaskUpdate" on a busy machine, every test passing).
   */
  run(command: string, args: string[], env?: Record<string, string>): Promise<HostResult>;
  /**
   * Runs one of the app's installed binaries (`mikro-orm`, `mikro-orm-fullauth`, `tsc`, …):
   * the first time for each binary through `npx --no-install <bin>`, as a user types it, then
   * the same binary straight from node_modules/.bin (npx adds ~0.6 s of npm start-up a call).
   */
  bin(name: string, args: string[], env?: Record<string, string>): Promise<HostResult>;
  /** The shell words that start `name` by the same rule as bin(): `npx <name>` the first time, then `node_modules/.bin/<name>`. */
  binCommand(name: string): string;
}

export interface HostAppOptions {
  /**
   * The host's module system: `module` (the default: test/fixtures/host-app, an ES-module
   * project) or `commonjs` (test/fixtures/host-app-cjs: "type": "commonjs" as npm init and
   * NestJS make it, its TypeScript compiled to CommonJS, so the package is require()d).
   */
  type?: 'module' | 'commonjs';
}

const TARBALL = 'mikro-orm-fullauth.tgz';

/**
 * The packed package, made once per test run and shared by the suites that install it
 * (run-shared.ts). `npm pack` builds it first (the prepack script), as when publishing.
 * FULLAUTH_TEST_TARBALL: packed beforehand (the MikroORM 6 job packs it with the root's
 * MikroORM 7 toolchain, as it is published).
 */
async function packedPackage(): Promise<string> {
  if (process.env.FULLAUTH_TEST_TARBALL) return process.env.FULLAUTH_TEST_TARBALL;
  const dir = await sharedOnce('pack', (into) => mustRun('npm', ['pack', '--pack-destination', into], ROOT));
  return join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
}

/** Runs a setup command (asynchronously: a worker blocked for a minute misses vitest's RPC); fails with its output. */
async function mustRun(command: string, args: string[], cwd: string): Promise<void> {
  const result = await runCommand(command, args, { cwd, env: process.env, timeout: 600_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.output}`);
}

// MikroORM 6's CLI loads a TypeScript config through ts-node unless told otherwise; the host
// apps use tsx instead (docs/getting-started.md): no ts-node, TS configs allowed, tsx loaded.
const CLI_SETTINGS = MIKRO_ORM_6 ? { 'mikro-orm': { useTsNode: false, alwaysAllowTs: true } } : {};

/**
 * The host apps' install: the tarball and the packages a host installs beside it, installed
 * by `npm install` once per test run and shared by every host app of the run (each app links
 * it as its node_modules, as the walkthrough apps do), so that the host-app suites pay for one
 * install, not one each.
 */
function hostInstall(): Promise<string> {
  return sharedOnce(
    'host-install',
    async (dir) => {
      copyFileSync(await packedPackage(), join(dir, TARBALL));
      writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'host-app', private: true, type: 'module', ...CLI_SETTINGS }, null, 2));
      const dependencies = [
        `./${TARBALL}`,
        ...['@mikro-orm/core', '@mikro-orm/postgresql', '@mikro-orm/mariadb', '@mikro-orm/migrations', '@mikro-orm/cli'].map(pkg),
        ...['@electric-sql/pglite', 'kysely-pglite-dialect', 'tsx', 'typescript', '@types/node'].map(pkg),
      ];
      await mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...dependencies], dir);
    },
    // the pack, then the install
    1_200_000,
  );
}

/**
 * A host app in a fresh temporary folder: the fixture's files, a package.json of the given
 * module type listing what npm installed, and the run's install (hostInstall()) as its
 * node_modules.
 */
export async function createHostApp({ type = 'module' }: HostAppOptions = {}): Promise<HostApp> {
  const install = await hostInstall();
  const dir = mkdtempSync(join(tmpdir(), type === 'commonjs' ? 'fullauth-host-cjs-' : 'fullauth-host-'));
  copyFileSync(join(install, TARBALL), join(dir, TARBALL));
  cpSync(join(ROOT, type === 'commonjs' ? 'test/fixtures/host-app-cjs' : 'test/fixtures/host-app'), dir, { recursive: true });
  if (type === 'commonjs') {
    // The fixture's TypeScript files open with `// @ts-nocheck` for the repository's own
    // typecheck (ES modules, verbatimModuleSyntax); in the host app its tsc checks them.
    for (const file of ['mikro-orm.config.ts', 'src/entities.ts', 'src/typecheck.ts']) {
      const path = join(dir, file);
      writeFileSync(path, readFileSync(path, 'utf8').replace(/^\/\/ @ts-nocheck[^\n]*\n/, ''));
    }
  }
  // SQLite through node:sqlite is a MikroORM 7 (and Node 22) configuration.
  if (MIKRO_ORM_6 && type === 'module') rmSync(join(dir, 'mikro-orm.sqlite.config.ts'));
  const { dependencies } = JSON.parse(readFileSync(join(install, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'host-app', private: true, type, ...CLI_SETTINGS, dependencies }, null, 2));
  symlinkSync(join(install, 'node_modules'), join(dir, 'node_modules'), 'dir');

  // A user's shell: no test-runner variables (MikroORM reads VITEST to guess TypeScript support).
  const baseEnv: Record<string, string> = {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? '/root',
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    ...(MIKRO_ORM_6 ? { NODE_OPTIONS: '--import=tsx' } : {}),
  };
  const npxDone = new Set<string>();
  const binCommand = (name: string): string => {
    if (npxDone.has(name)) return `node_modules/.bin/${name}`;
    npxDone.add(name);
    return `npx --no-install ${name}`;
  };
  const run: HostApp['run'] = async (command, args, env = {}) => {
    const result = await runCommand(command, args, { cwd: dir, env: { ...baseEnv, ...env }, timeout: 180_000 });
    // stdout, then stderr (what the checks read first is the command's own output).
    return { status: result.status, output: `${result.stdout}${result.stderr}` };
  };
  return {
    dir,
    run,
    binCommand,
    bin(name, args, env) {
      const [command, ...rest] = binCommand(name).split(' ');
      return run(command!, [...rest, ...args], env);
    },
  };
}

// ---- checks shared by the host-app suites --------------------------------------------

/** A command's output, after checking it succeeded without an error message. */
export async function expectOk(command: Promise<{ status: number; output: string }> | { status: number; output: string }): Promise<string> {
  const result = await command;
  expect(result.output, result.output).not.toMatch(/Error|error:/);
  expect(result.status, result.output).toBe(0);
  return result.output;
}

/** The migration files a host app's CLI wrote. */
export const migrationFiles = (path: string) =>
  existsSync(path) ? readdirSync(path).filter((f) => /^Migration\d+.*\.ts$/.test(f)) : [];

export /** Where `import` and `require` of the package lead in a host app, and what they give. */
const resolvedEntries = async (app: HostApp) =>
  JSON.parse(
    await expectOk(
      app.run('node', [
        '--input-type=module',
        '-e',
        `import { createRequire } from 'node:module';
         const require = createRequire(process.cwd() + '/');
         const esm = await import('mikro-orm-fullauth');
         const cjs = require('mikro-orm-fullauth');
         const rel = (p) => p.slice(p.indexOf('node_modules/mikro-orm-fullauth/') + 'node_modules/mikro-orm-fullauth/'.length);
         console.log(JSON.stringify({
           import: rel(import.meta.resolve('mikro-orm-fullauth')),
           require: rel(require.resolve('mikro-orm-fullauth')),
           sameExports: Object.keys(esm).sort().join() === Object.keys(cjs).sort().join(),
           cjsEntities: [...cjs.defineFullauthEntities(['base'])].length,
         }));`,
      ]),
    ),
  ) as unknown;
export const RESOLVED_ENTRIES = { import: 'dist/index.js', require: 'dist/cjs/index.js', sameExports: true, cjsEntities: 2 };
