// A docs page's MikroORM 6 example (a ```typescript block after a `<!-- MikroORM 6 example … -->`
// marker; docs.test.ts type-checks the ```ts blocks against MikroORM 7), as the MikroORM 6 job
// checks it before running it: type-checked as the reader has it against MikroORM 6's types (as
// ci/mikro-orm-6/tsconfig.json checks src/), with `mikro-orm-fullauth` being src/.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runCommand } from './spawn.js';

const ROOT = new URL('../..', import.meta.url).pathname;

/** The page's one MikroORM 6 example, after it type-checked in `dir` (a scratch folder). */
export async function checkedMikroOrm6Example(page: string, dir: string): Promise<string> {
  const text = readFileSync(join(ROOT, page), 'utf8');
  const examples = [...text.matchAll(/^<!-- MikroORM 6 example[^\n]*-->\n```typescript\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
  expect(examples).toHaveLength(1);
  writeFileSync(join(dir, 'checked.ts'), examples[0]!);
  const paths = { 'mikro-orm-fullauth': [join(ROOT, 'src/index.ts')], '@mikro-orm/sql': [join(ROOT, 'node_modules/@mikro-orm/knex/index.d.ts')] };
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: join(ROOT, 'ci/mikro-orm-6/tsconfig.json'), compilerOptions: { noUnusedLocals: false, paths }, include: ['checked.ts'] }),
  );
  const tsc = await runCommand(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json')], { cwd: ROOT });
  expect(tsc.output).toBe('');
  expect(tsc.status).toBe(0);
  return examples[0]!;
}
