// Registered for every test file (vitest.config.ts `setupFiles`): after each test, the PostgreSQL
// connections the file keeps between tests stay within the budget (./connection-budget.ts).
// This hook runs after the file's own afterEach hooks: vitest runs after-hooks in the reverse
// order of their registration, and a setup file registers first.
import { afterEach } from 'vitest';
import { checkConnectionBudget } from './connection-budget.js';

afterEach(() => checkConnectionBudget());
