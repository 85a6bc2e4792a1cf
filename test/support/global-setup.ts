// Once per vitest run, in the main process: the run's folder (test/support/run-shared.ts: the
// packed package, the host apps' install, a fresh PGlite cluster; vitest.config.ts names the
// run) removed at the end.
import { rmSync } from 'node:fs';
import { packDir } from './run-shared.js';

export default function setup(): () => void {
  const dir = packDir();
  return () => rmSync(dir, { recursive: true, force: true });
}
