// The executable steps of a docs page, in order, and a runner for them in a host app
// (test/support/host-app.ts). A page marks its steps in the markdown itself:
//
//   ```ts file=src/entities.ts     a file the reader creates (written to that path, relative to the app)
//   ```sh run                      shell commands the reader runs, one per line (`#` starts a comment)
//   <!-- walkthrough: after getting-started.md -->   the page goes on from that page's app and database
//   <!-- walkthrough: new database -->               the steps after it use another, empty database
//
// Plain ```ts and ```sh blocks are not run (docs.test.ts type-checks the ```ts ones).
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { HostApp } from './host-app.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export type WalkthroughStep =
  | { kind: 'file'; path: string; code: string; line: number }
  | { kind: 'run'; command: string; line: number }
  | { kind: 'new-database'; line: number };

export interface Walkthrough {
  page: string;
  /** The page whose steps come first (`<!-- walkthrough: after x.md -->`), as `docs/x.md`. */
  after?: string;
  steps: WalkthroughStep[];
}

const FENCE = /^```(\S*)(?:[ \t]+(.*))?$/;
const DIRECTIVE = /^<!--\s*walkthrough:\s*(.*?)\s*-->$/;

/** Reads the marked steps of a page (`docs/x.md`, relative to the repository root). */
export function readWalkthrough(page: string): Walkthrough {
  const lines = readFileSync(join(ROOT, page), 'utf8').split('\n');
  const walkthrough: Walkthrough = { page, steps: [] };
  for (let i = 0; i < lines.length; i++) {
    const directive = DIRECTIVE.exec(lines[i]!.trim());
    if (directive) {
      const [verb, ...rest] = directive[1]!.split(/\s+/);
      if (verb === 'after') walkthrough.after = `docs/${rest.join(' ')}`;
      else if (verb === 'new' && rest.join(' ') === 'database') walkthrough.steps.push({ kind: 'new-database', line: i + 1 });
      else throw new Error(`${page}:${i + 1}: unknown walkthrough directive "${directive[1]}"`);
      continue;
    }
    const fence = FENCE.exec(lines[i]!);
    if (!fence || fence[1] === '') continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i] !== '```'; i++) body.push(lines[i]!);
    if (i >= lines.length) throw new Error(`${page}:${start + 1}: unclosed code block`);
    const [language, info = ''] = [fence[1]!, fence[2]?.trim() ?? ''];
    const file = /(?:^|\s)file=(\S+)/.exec(info)?.[1];
    if (file) {
      walkthrough.steps.push({ kind: 'file', path: file, code: `${body.join('\n')}\n`, line: start + 1 });
    } else if (language === 'sh' && /(?:^|\s)run(?:\s|$)/.test(info)) {
      for (const [offset, text] of body.entries()) {
        const command = text.replace(/(^|\s)#.*$/, '').trim();
        if (command) walkthrough.steps.push({ kind: 'run', command, line: start + 2 + offset });
      }
    } else if (info) {
      throw new Error(`${page}:${start + 1}: unknown code block info string "${info}"`);
    }
  }
  return walkthrough;
}

/** The walkthrough of a page with the steps of the pages it continues, first to last. */
export function walkthroughChain(page: string): Walkthrough[] {
  const chain: Walkthrough[] = [];
  for (let current: string | undefined = page; current; current = chain[0]!.after) {
    if (chain.some((w) => w.page === current)) throw new Error(`walkthrough cycle at ${current}`);
    chain.unshift(readWalkthrough(current));
  }
  return chain;
}

export interface StepResult {
  page: string;
  step: WalkthroughStep;
  status: number;
  output: string;
}

/** The project a page starts from: an ES-module TypeScript project, as in docs/getting-started.md#install. */
const TSCONFIG = {
  compilerOptions: { target: 'ES2023', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: true, noEmit: true },
};

/**
 * Makes a fresh app folder inside the host app (its own package.json and tsconfig.json, the
 * host's install linked as node_modules), so several pages share one install but none sees
 * another's files.
 */
export function createWalkthroughApp(host: HostApp, name: string): string {
  const dir = join(host.dir, `walkthrough-${name}`);
  mkdirSync(dir);
  // The dependencies a reader's package.json lists after the install step (MikroORM's CLI checks them).
  const { dependencies, devDependencies } = JSON.parse(readFileSync(join(host.dir, 'package.json'), 'utf8')) as Record<string, unknown>;
  const pkg = { name: `walkthrough-${name}`, private: true, type: 'module', dependencies, devDependencies };
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify(TSCONFIG, null, 2)}\n`);
  symlinkSync(join(host.dir, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Where a walk ended: its app folder and the database its last steps used. */
export interface WalkState {
  dir: string;
  url: string;
}

/**
 * Runs the steps of `page` (and of the pages it continues) in order in `dir`: files are
 * written, commands run through bash with `DATABASE_URL` set. Stops at the first failing
 * command. `newDatabase` gives the URL of another empty database (`new database`).
 * `continued`: the pages of the chain already walked, in this `dir`, ending on the database
 * `databaseUrl` (a page that goes on from a page walked just before: only its own steps run).
 * `state`, when given, is updated to where the walk ended.
 */
export async function runWalkthrough(
  host: HostApp,
  dir: string,
  page: string,
  databaseUrl: string,
  newDatabase: () => Promise<string>,
  { continued = [], state }: { continued?: readonly string[]; state?: WalkState } = {},
): Promise<StepResult[]> {
  const results: StepResult[] = [];
  let url = databaseUrl;
  const chain = walkthroughChain(page);
  const done = chain.findIndex((w) => !continued.includes(w.page));
  if (continued.length > 0 && done !== continued.length) {
    throw new Error(`${page} goes on from ${chain.map((w) => w.page).join(', ')}, not from ${continued.join(', ')}`);
  }
  if (state) Object.assign(state, { dir, url });
  for (const walkthrough of chain.slice(continued.length)) {
    for (const step of walkthrough.steps) {
      if (step.kind === 'file') {
        const path = join(dir, step.path);
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, step.code);
        continue;
      }
      if (step.kind === 'new-database') {
        url = await newDatabase();
        if (state) state.url = url;
        continue;
      }
      // npm_config_yes=false: `npx` runs the app's own binaries and never downloads one. A
      // page's `npx <bin>` runs through npx the first time for each binary, then straight from
      // node_modules/.bin (the same binary; HostApp.binCommand()).
      const { status, output } = await host.run('bash', ['-c', `cd '${dir}' && ${viaBin(host, step.command)}`], {
        DATABASE_URL: url,
        npm_config_yes: 'false',
      });
      results.push({ page: walkthrough.page, step, status, output });
      if (status !== 0) return results;
    }
  }
  return results;
}

/** `npx <bin> …` started as HostApp.binCommand() says (npx the first time for each binary); any other command as it is. */
function viaBin(host: HostApp, command: string): string {
  const npx = /^npx\s+(?:--no-install\s+)?([\w@./-]+)(?=\s|$)/.exec(command);
  if (!npx) return command;
  const start = host.binCommand(npx[1]!);
  // The first time: the page's own command, as the reader types it.
  return start.startsWith('npx ') ? command : `${start}${command.slice(npx[0].length)}`;
}

/** A readable account of a failed step. */
export function describeStep(result: StepResult): string {
  const { step } = result;
  const what = step.kind === 'run' ? `$ ${step.command}` : step.kind;
  return `${result.page}:${step.line}: ${what} exited ${result.status}\n${result.output}`;
}
