// The order test files are handed to the two workers: vitest's (files that failed last time
// first, then the longest), except that the host-app suites do not start side by side. They
// all wait for the run's one `npm pack` and `npm install` (run-shared.ts, ~30 s on one core);
// the first of them makes those while the other worker runs the next long files, and the
// other host-app suites come after those, when the install is (nearly) ready. The type check
// (test/typecheck.test.ts, one single-threaded tsc) goes first, beside the first host-app suite:
// last, it would leave the other worker idle at the end of the run.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const TYPECHECK = /[\\/]test[\\/]typecheck\.test\.ts$/;
const HOST_APP_SUITES = /[\\/]test[\\/](cli-host|cli-host-cjs|walkthroughs)\.test\.ts$/;
/** How many other files go between the first host-app suite and the others. */
const BETWEEN = 2;

export default class Sequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const all = await super.sort(files);
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
