// Once per vitest run, in the main process: the run's packing folder (test/support/host-app.ts;
// vitest.config.ts names the run) removed at the end.
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = join(tmpdir(), `fullauth-pack-${process.env.FULLAUTH_TEST_RUN}`);
  return () => rmSync(dir, { recursive: true, force: true });
}
