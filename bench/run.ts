// `npm run bench`: figures and ratios against a baseline measured in the same run.
//  1. MikroORM discovery of the fullauth entities vs the same tables hand-written as plain
//     EntitySchemas (goal: ratio ≤ 1.10).
//  2. Cold getFullauthMetadata() in a fresh process (the built package) vs a fresh process
//     discovering the hand-written schemas.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MikroORM } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { defineFullauthEntities } from '../src/index.js';
import { handwrittenSchemas } from './handwritten.js';
import { runPasswordBench } from './passwords.js';
import { runStoreBench } from './store.js';
import { MYSQL_BENCH_SERVERS, runStoreMysqlBench } from './store-mysql.js';
import { runStoreSqliteBench } from './store-sqlite.js';
import { runTokenBench } from './tokens.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 200);

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const ms = (value: number) => `${value.toFixed(2)} ms`;

function discover(entities: () => unknown[]): number {
  const start = performance.now();
  const orm = new MikroORM({ driver: PostgreSqlDriver, dbName: 'bench', entities: entities() as never });
  orm.getMetadata();
  return performance.now() - start;
}

// Warm up both paths, then interleave them so drift on the machine hits both alike.
for (let i = 0; i < 20; i++) {
  discover(() => [...defineFullauthEntities()]);
  discover(handwrittenSchemas);
}
const ours: number[] = [];
const baseline: number[] = [];
for (let i = 0; i < ROUNDS; i++) {
  ours.push(discover(() => [...defineFullauthEntities()]));
  baseline.push(discover(handwrittenSchemas));
}
const discoveryRatio = median(ours) / median(baseline);

execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'ignore' });
const COLD_OURS = `
const t = performance.now();
const { getFullauthMetadata } = await import('./dist/index.js');
await getFullauthMetadata();
console.log(performance.now() - t);`;
const COLD_BASELINE = `
const t = performance.now();
const { MikroORM } = await import('@mikro-orm/core');
const { PostgreSqlDriver } = await import('@mikro-orm/postgresql');
const { handwrittenSchemas } = await import('./bench/handwritten.ts');
new MikroORM({ driver: PostgreSqlDriver, dbName: 'bench', entities: handwrittenSchemas() }).getMetadata();
console.log(performance.now() - t);`;
const cold = (code: string) =>
  Number(execFileSync(process.execPath, ['--input-type=module', '--no-warnings', '-e', code], { cwd: ROOT, encoding: 'utf8' }).trim());
const coldOurs: number[] = [];
const coldBaseline: number[] = [];
for (let i = 0; i < 7; i++) {
  coldOurs.push(cold(COLD_OURS));
  coldBaseline.push(cold(COLD_BASELINE));
}
const coldRatio = median(coldOurs) / median(coldBaseline);

const memory = process.memoryUsage().heapUsed / 1024 / 1024;
console.log(`node ${process.version}, MikroORM ${(await import('@mikro-orm/core/package.json', { with: { type: 'json' } })).default.version}, ${ROUNDS} rounds`);
console.log('');
console.log('discovery of the 8 fullauth entities (median of a fresh MikroORM metadata discovery)');
console.log(`  defineFullauthEntities()      ${ms(median(ours))}`);
console.log(`  hand-written EntitySchemas    ${ms(median(baseline))}`);
console.log(`  ratio                         ${discoveryRatio.toFixed(3)}  (goal ≤ 1.10: ${discoveryRatio <= 1.1 ? 'met' : 'MISSED'})`);
console.log('');
console.log('cold start in a fresh process (import + offline discovery, median of 7)');
console.log(`  getFullauthMetadata()         ${ms(median(coldOurs))}`);
console.log(`  hand-written + MikroORM       ${ms(median(coldBaseline))}`);
console.log(`  ratio                         ${coldRatio.toFixed(3)}`);
console.log('');
for (const line of await runStoreBench()) console.log(line);
console.log('');
for (const server of MYSQL_BENCH_SERVERS) for (const line of await runStoreMysqlBench(server)) console.log(line);
console.log('');
for (const line of await runStoreSqliteBench()) console.log(line);
console.log('');
for (const line of await runTokenBench()) console.log(line);
console.log('');
for (const line of await runPasswordBench()) console.log(line);
console.log('');
console.log(`heap used by this run: ${memory.toFixed(1)} MiB`);
