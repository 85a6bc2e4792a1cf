import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // The host-app test installs packages; keep the machine's two cores for the rest.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
