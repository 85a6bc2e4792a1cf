// Docs are part of the product: every ```ts block in README.md and docs/*.md is compiled
// with the repository's strict settings (`mikro-orm-fullauth` resolves to src/), so an
// example that no longer matches the API fails the suite. The files of the walkthroughs
// (```ts file=src/x.ts, test/support/walkthrough.ts) are compiled too, each page's laid out
// as a reader's app, so that they can import one another; test/walkthroughs.test.ts runs them.
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { itOnMikroOrm7 } from './support/compat.js';
import { runCommand } from './support/spawn.js';
import { walkthroughChain } from './support/walkthrough.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, '.docs-check');
const pages = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function snippets(page: string): string[] {
  const text = readFileSync(join(ROOT, page), 'utf8');
  return [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]!);
}

describe('documentation', () => {
  it('has a page for every feature', () => {
    expect(pages).toEqual(
      expect.arrayContaining([
        'docs/getting-started.md',
        'docs/model-groups.md',
        'docs/migrations.md',
        'docs/metadata.md',
        'docs/api.md',
        'docs/customisation.md',
        'docs/schema-hooks.md',
        'docs/managed-mode.md',
        'docs/check-and-diagram.md',
        'docs/store.md',
        'docs/databases.md',
        'docs/passwords.md',
        'docs/fastapi-fullauth.md',
        'docs/nestjs.md',
        'docs/host-entities.md',
      ]),
    );
  });

  const V7_ONLY = 'the examples are written against MikroORM 7 (its method names, @mikro-orm/sql); ci/mikro-orm-6/tsconfig.json type-checks src/ against MikroORM 6';
  itOnMikroOrm7('type-checks every TypeScript example', V7_ONLY, async () => {
    rmSync(OUT, { recursive: true, force: true });
    mkdirSync(OUT);
    let count = 0;
    for (const page of pages) {
      snippets(page).forEach((code, i) => {
        count++;
        const name = `${page.replace(/[/.]/g, '_')}_${i + 1}.ts`;
        writeFileSync(join(OUT, name), `// from ${page}, example ${i + 1}\n${code}\nexport {};\n`);
      });
    }
    expect(count).toBeGreaterThan(10);
    // Each page's app as the reader has it after following the page (and the pages it continues).
    let files = 0;
    for (const page of pages) {
      const app = join(OUT, `app_${page.replace(/[/.]/g, '_')}`);
      for (const walkthrough of walkthroughChain(page)) {
        for (const step of walkthrough.steps) {
          if (step.kind !== 'file' || !step.path.endsWith('.ts')) continue;
          files++;
          mkdirSync(dirname(join(app, step.path)), { recursive: true });
          writeFileSync(join(app, step.path), `// from ${walkthrough.page}:${step.line}\n${step.code}`);
        }
      }
    }
    expect(files).toBeGreaterThan(10);
    writeFileSync(
      join(OUT, 'tsconfig.json'),
      JSON.stringify({ extends: '../tsconfig.json', compilerOptions: { noUnusedLocals: false }, include: ['*.ts', 'app_*/**/*.ts'] }),
    );
    const tsc = await runCommand(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(OUT, 'tsconfig.json')]);
    if (tsc.status !== 0) throw new Error(`A docs example does not compile:\n${tsc.stdout}`);
  });
});

describe('the diagram in the docs', () => {
  it('is what mikro-orm-fullauth draws for the default groups', async () => {
    const { getFullauthMetadata, renderFullauthDiagram } = await import('../src/index.js');
    const page = readFileSync(join(ROOT, 'docs/check-and-diagram.md'), 'utf8');
    const block = /^```mermaid\n([\s\S]*?)^```$/m.exec(page)?.[1];
    expect(block).toBe(renderFullauthDiagram(await getFullauthMetadata()));
  });
});
