import { randomUUID } from 'node:crypto';
import { defineConfig } from 'vitest/config';
import Sequencer from './test/support/sequencer.js';

// One id per run, inherited by every worker: the host-app suites share one packed package per run.
process.env.FULLAUTH_TEST_RUN ||= randomUUID();

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['./test/support/global-setup.ts'],
    // After each test: the PostgreSQL connections a file keeps between tests stay within a budget.
    setupFiles: ['./test/support/connection-budget-setup.ts'],
    pool: 'forks',
    // A worker process runs file after file (a fresh process per file cost ~1.3 s of CPU each,
    // most of it the first touch of a new heap's memory, slow on this machine). Each file still
    // makes its own ORMs and databases; no test mocks modules or changes process.env.
    isolate: false,
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // The machine has two cores (a third worker was slower, measured in CI).
    maxWorkers: 2,
    // The host-app suites staggered, not started side by side (test/support/sequencer.ts).
    sequence: { sequencer: Sequencer },
    // Each skipped test listed at the end, with the reason its title gives.
    reporters: ['default', './test/support/skip-reporter.ts'],
    poolOptions: {
      // node:sqlite is experimental on Node 22: its warning is known, not news for every run.
      forks: { execArgv: ['--disable-warning=ExperimentalWarning'] },
    },
  },
});
