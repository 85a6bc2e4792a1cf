// The order test files are handed to the two workers: the longest first (a list measured
// here, then vitest's order: cached durations, else file size), except that the host-app
// suites do not start side by side. They
// all wait for the run's one `npm pack` and `npm install` (run-shared.ts, ~30 s on one core);
// the first of them makes those while the other worker runs the next long files, and the
// other host-app suites come after those, when the install is (nearly) ready. The type check
// (test/typecheck.test.ts, one single-threaded tsc) goes first, beside the first host-app suite:
// last, it would leave the other worker idle at the end of the run.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const TYPECHECK = /[\\/]test[\\/]typecheck\.test\.ts$/;
/**
 * The longest files, longest first (idle durations of 2026-12-01, 11–53 s), so that a first run
 * (a fresh clone: no durations cached, vitest would order by file size) schedules them as a
 * run with a cache does: the long files first, the short ones filling the end.
 */
const LONGEST = [
  'cli-host', 'cli-readonly', 'sqlite-alembic', 'walkthroughs', 'passwords', 'store-sqlite', 'store-races',
  'store-mysql-scale', 'cli-host-cjs', 'managed-sql-guard', 'scale', 'store', 'sqlite-busy', 'store-inputs',
].map((name) => `/test/${name}.test.ts`);
const rank = (file: TestSpecification) => {
  const index = LONGEST.findIndex((suffix) => file.moduleId.replaceAll('\\', '/').endsWith(suffix));
  return index === -1 ? LONGEST.length : index;
};
const HOST_APP_SUITES = /[\\/]test[\\/](cli-host|cli-host-cjs|walkthroughs)\.test\.ts$/;
/** How many other files go between the first host-app suite and the others. */
const BETWEEN = 2;

export default class Sequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    // Stable: the files not listed keep vitest's order (cached durations, else file size).
    const all = (await super.sort(files)).sort((a, b) => rank(a) - rank(b));
    const first = all.filter((f) => TYPECHECK.test(f.moduleId));
    return [...first, ...this.#staggered(all.filter((f) => !TYPECHECK.test(f.moduleId)))];
  }

  #staggered(sorted: TestSpecification[]): TestSpecification[] {
    const hosts = sorted.filter((f) => HOST_APP_SUITES.test(f.moduleId));
    const others = sorted.filter((f) => !HOST_APP_SUITES.test(f.moduleId));
    if (hosts.length < 2 || others.length === 0) return sorted;
    const [firstHost, ...rest] = hosts;
    return [firstHost!, ...others.slice(0, BETWEEN), ...rest, ...others.slice(BETWEEN)];
  }
}
