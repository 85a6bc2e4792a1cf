// Things made once per test run and shared by the test files, which run in parallel worker
// processes: the packed package, the host apps' install, a fresh PGlite cluster's dump. They
// live in the run's folder (vitest.config.ts names the run; test/support/global-setup.ts
// removes the folder at the end).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** This run's folder. */
export const packDir = (): string => join(tmpdir(), `fullauth-pack-${process.env.FULLAUTH_TEST_RUN ?? `ppid-${process.ppid}`}`);

/**
 * `build(dir)` run once per test run, whichever worker asks first: that worker gets the folder
 * `<run folder>/<name>` (an atomic mkdir) and builds into it; the others wait for its marker.
 * Resolves to the folder. A failed build fails the waiting workers too, with its error.
 */
export async function sharedOnce(name: string, build: (dir: string) => Promise<void>, waitMs = 600_000): Promise<string> {
  const root = packDir();
  mkdirSync(root, { recursive: true });
  const dir = join(root, name);
  const done = join(root, `${name}.done`);
  const failed = join(root, `${name}.failed`);
  let mine = false;
  try {
    mkdirSync(dir);
    mine = true;
  } catch {
    // another worker of this run builds it
  }
  if (mine) {
    try {
      await build(dir);
    } catch (error) {
      writeFileSync(failed, (error as Error).stack ?? String(error));
      throw error;
    }
    writeFileSync(done, '');
    return dir;
  }
  for (let waited = 0; !existsSync(done); waited += 200) {
    if (existsSync(failed)) throw new Error(`Another test worker failed to make ${dir}:\n${readFileSync(failed, 'utf8')}`);
    if (waited > waitMs) throw new Error(`Waited ${waitMs / 1000} s for another test worker to make ${dir}.`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return dir;
}
