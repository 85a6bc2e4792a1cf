// Builds and packs this package, then installs the tarball into a separate host
// application in a temporary folder, the way a user would, for the CLI tests.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MIKRO_ORM_6 } from './compat.js';

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

export function createHostApp(): HostApp {
  const dir = mkdtempSync(join(tmpdir(), 'fullauth-host-'));
  // FULLAUTH_TEST_TARBALL: a package packed beforehand (the MikroORM 6 job packs it with the
  // root's MikroORM 7 toolchain, as it is published).
  const packed = process.env.FULLAUTH_TEST_TARBALL;
  if (packed) {
    copyFileSync(packed, join(dir, 'mikro-orm-fullauth.tgz'));
  } else {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
    execFileSync('npm', ['pack', '--pack-destination', dir], { cwd: ROOT, stdio: 'pipe' });
  }
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  cpSync(join(ROOT, 'test/fixtures/host-app'), dir, { recursive: true });
  // SQLite through node:sqlite is a MikroORM 7 (and Node 22) configuration.
  if (MIKRO_ORM_6) rmSync(join(dir, 'mikro-orm.sqlite.config.ts'));
  // MikroORM 6's CLI loads a TypeScript config through ts-node unless told otherwise; an ESM
  // host uses tsx instead (docs/getting-started.md): no ts-node, TS configs allowed, tsx loaded.
  const cliSettings = MIKRO_ORM_6 ? { 'mikro-orm': { useTsNode: false, alwaysAllowTs: true } } : {};
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'host-app', private: true, type: 'module', ...cliSettings }, null, 2));
  const dependencies = [
    `./${tarball}`,
    ...['@mikro-orm/core', '@mikro-orm/postgresql', '@mikro-orm/mariadb', '@mikro-orm/migrations', '@mikro-orm/cli'].map(pkg),
    ...['@electric-sql/pglite', 'kysely-pglite-dialect', 'tsx', 'typescript', '@types/node'].map(pkg),
  ];
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', ...dependencies], { cwd: dir, stdio: 'pipe' });

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
    run(command, args, env = {}) {
      const result = spawnSync(command, args, { cwd: dir, env: { ...baseEnv, ...env }, encoding: 'utf8', timeout: 180_000 });
      return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
    },
  };
}
