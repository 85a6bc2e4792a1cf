// The type check of `npm test`, as one test file: tsc runs in a worker beside the other files
// instead of before all of them (it is single-threaded: run first, it left the second core idle
// for its ~8 s). MikroORM 7: the whole project (`npm run typecheck`, tsconfig.json). MikroORM 6
// (ci/mikro-orm-6/run's work copy): src/ against MikroORM 6's types (ci/mikro-orm-6/tsconfig.json).
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { MIKRO_ORM_6 } from './support/compat.js';
import { ROOT } from './support/fullauth-cli.js';
import { runCommand } from './support/spawn.js';

const project = MIKRO_ORM_6 ? 'ci/mikro-orm-6/tsconfig.json' : 'tsconfig.json';

it(`tsc -p ${project} --noEmit reports no error`, async () => {
  const result = await runCommand(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project, '--noEmit'], { cwd: ROOT, timeout: 300_000 });
  expect(result.output).toBe('');
  expect(result.status).toBe(0);
});
