// The order test files are handed to the two workers: vitest's (files that failed last time
// first, then the longest), except that the host-app suites do not start side by side. They
// all wait for the run's one `npm pack` and `npm install` (run-shared.ts, ~30 s on one core);
// the first of them makes those while the other worker runs the next long files, and the
// other host-app suites come after those, when the install is (nearly) ready.
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const HOST_APP_SUITES = /[\\/]test[\\/](cli-host|cli-host-cjs|walkthroughs)\.test\.ts$/;
/** How many other files go between the first host-app suite and the others. */
const BETWEEN = 2;

export default class Sequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const hosts = sorted.filter((f) => HOST_APP_SUITES.test(f.moduleId));
    const others = sorted.filter((f) => !HOST_APP_SUITES.test(f.moduleId));
    if (hosts.length < 2 || others.length === 0) return sorted;
    const [first, ...rest] = hosts;
    return [first!, ...others.slice(0, BETWEEN), ...rest, ...others.slice(BETWEEN)];
  }
}
