// The `mikro-orm-fullauth` CLI run as a user runs it, from its source (src/cli.ts through tsx,
// so no build is shared with the host-app test), in the repository root or with a config
// written to a temporary folder.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_ENV } from './compat.js';
import { runCommand } from './spawn.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const TMP = join(ROOT, '.fullauth-dev/test-tmp');

export interface CliResult {
  status: number;
  output: string;
}

/** `mikro-orm-fullauth <args>` in the repository root, in a user's environment (no test-runner variables). */
export async function runFullauthCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const userEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  const result = await runCommand(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli.ts'), ...args], {
    cwd: ROOT,
    env: { ...userEnv, ...CLI_ENV, NO_COLOR: '1', FORCE_COLOR: '0', DATABASE_URL: '', ...env },
  });
  return { status: result.status, output: result.output };
}

/** A temporary folder under the repository (so that its files resolve the repository's packages); removed by the returned function. */
export function tempDir(label: string): { dir: string; remove(): void } {
  mkdirSync(TMP, { recursive: true });
  const dir = mkdtempSync(join(TMP, `${label}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A MikroORM config file in `dir` whose entities are every fullauth group; `body` is the rest
 * of the `defineConfig()` argument, and `imports` what it needs.
 */
export function writeConfig(dir: string, imports: string, body: string): string {
  const file = join(dir, 'mikro-orm.config.ts');
  const src = join(ROOT, 'src/index.js');
  writeFileSync(file, `${imports}\nimport { defineFullauthEntities } from ${JSON.stringify(src)};\n\nexport default defineConfig({\n  entities: [...defineFullauthEntities()],\n  ${body}\n});\n`);
  return file;
}
