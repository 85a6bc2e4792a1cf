// Builds and packs this package, then installs the tarball into a separate host
// application in a temporary folder, the way a user would, for the CLI tests.
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { expect } from 'vitest';
import { MIKRO_ORM_6 } from './compat.js';
import { runCommand } from './spawn.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The version the tests run with (the root's devDependencies, or ci/mikro-orm-6's set). */
const pkg = (name: string): string => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
  return `${name}@${version}`;
};

export interface HostApp {
  dir: string;
  /** Runs a command in the host app with Node 22 first on the PATH and a user's environment. */
  run(command: string, args: string[], env?: Record<string, string>): { status: number; output: string };
}

export interface HostAppOptions {
  /**
   * The host's module system: `module` (the default: test/fixtures/host-app, an ES-module
   * project) or `commonjs` (test/fixtures/host-app-cjs: "type": "commonjs" as npm init and
   * NestJS make it, its TypeScript compiled to CommonJS, so the package is require()d).
   */
  type?: 'module' | 'commonjs';
}

/**
 * The packed package, made once per test run and shared by the suites that install it, which
 * run in parallel worker processes: the first to get the run's folder (an atomic mkdir) builds
 * and packs, the others wait for its marker. FULLAUTH_TEST_TARBALL: packed beforehand (the
 * MikroORM 6 job packs it with the root's MikroORM 7 toolchain, as it is published).
 */
async function packedPackage(): Promise<string> {
  if (process.env.FULLAUTH_TEST_TARBALL) return process.env.FULLAUTH_TEST_TARBALL;
  const dir = packDir();
  const marker = join(dir, 'packed');
  let mine = false;
  try {
    mkdirSync(dir);
    mine = true;
  } catch {
    // another worker of this run packs it
  }
  if (mine) {
    await mustRun('npm', ['run', 'build'], ROOT);
    await mustRun('npm', ['pack', '--pack-destination', dir], ROOT);
    writeFileSync(marker, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
  }
  for (let waited = 0; !existsSync(marker); waited += 500) {
    if (waited > 600_000) throw new Error(`Waited 10 minutes for another test worker to pack the package into ${dir}.`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return join(dir, readFileSync(marker, 'utf8'));
}

/** This run's packing folder (vitest.config.ts names the run; test/support/global-setup.ts removes it). */
export const packDir = (): string => join(tmpdir(), `fullauth-pack-${process.env.FULLAUTH_TEST_RUN ?? `ppid-${process.ppid}`}`);

/** Runs a setup command (asynchronously: a worker blocked for a minute misses vitest's RPC); fails with its output. */
async function mustRun(command: string, args: string[], cwd: string): Promise<void> {
  const result = await runCommand(command, args, { cwd, env: process.env, timeout: 600_000 });
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.output}`);
}

export async function createHostApp({ type = 'module' }: HostAppOptions = {}): Promise<HostApp> {
  const dir = mkdtempSync(join(tmpdir(), type === 'commonjs' ? 'fullauth-host-cjs-' : 'fullauth-host-'));
  copyFileSync(await packedPackage(), join(dir, 'mikro-orm-fullauth.tgz'));
  const tarball = 'mikro-orm-fullauth.tgz';
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
  // MikroORM 6's CLI loads a TypeScript config through ts-node unless told otherwise; the host
  // apps use tsx instead (docs/getting-started.md): no ts-node, TS configs allowed, tsx loaded.
  const cliSettings = MIKRO_ORM_6 ? { 'mikro-orm': { useTsNode: false, alwaysAllowTs: true } } : {};
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'host-app', private: true, type, ...cliSettings }, null, 2));
  const dependencies = [
    `./${tarball}`,
    ...['@mikro-orm/core', '@mikro-orm/postgresql', '@mikro-orm/mariadb', '@mikro-orm/migrations', '@mikro-orm/cli'].map(pkg),
    ...['@electric-sql/pglite', 'kysely-pglite-dialect', 'tsx', 'typescript', '@types/node'].map(pkg),
  ];
  await mustRun('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...dependencies], dir);

  // A user's shell: no test-runner variables (MikroORM reads VITEST to guess TypeScript support).
  const baseEnv: Record<string, string> = {
    PATH: `${dirname(process.execPath)}:${process.env.PATH ?? ''}`,
    HOME: process.env.HOME ?? '/root',
    FORCE_COLOR: '0',
    NO_COLOR: '1',
    ...(MIKRO_ORM_6 ? { NODE_OPTIONS: '--import=tsx' } : {}),
  };
  return {
    dir,
    // Synchronous: each command takes seconds (the minute-long steps above are asynchronous).
    run(command, args, env = {}) {
      const result = spawnSync(command, args, { cwd: dir, env: { ...baseEnv, ...env }, encoding: 'utf8', timeout: 180_000 });
      return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
    },
  };
}

// ---- checks shared by the host-app suites --------------------------------------------

/** A command's output, after checking it succeeded without an error message. */
export function expectOk(result: { status: number; output: string }): string {
  expect(result.output, result.output).not.toMatch(/Error|error:/);
  expect(result.status, result.output).toBe(0);
  return result.output;
}

/** The migration files a host app's CLI wrote. */
export const migrationFiles = (path: string) =>
  existsSync(path) ? readdirSync(path).filter((f) => /^Migration\d+.*\.ts$/.test(f)) : [];

export /** Where `import` and `require` of the package lead in a host app, and what they give. */
const resolvedEntries = (app: HostApp) =>
  JSON.parse(
    expectOk(
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
