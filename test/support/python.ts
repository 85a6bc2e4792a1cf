// The Python side's own libraries (Debian's python3-jwt, python3-psycopg2, …) for the
// interchangeability tests. Under CI=true a missing module fails the run; elsewhere those
// tests are skipped with the reason printed.
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PYTHON = process.env.FULLAUTH_TEST_PYTHON ?? '/usr/bin/python3';

/** Why the Python tests needing `modules` cannot run here, or undefined when they can. */
export function pythonUnavailable(modules: readonly string[]): string | undefined {
  const probe = spawnSync(PYTHON, ['-c', `import ${modules.join(', ')}`], { encoding: 'utf8' });
  if (probe.status === 0) return undefined;
  const reason = `${PYTHON} cannot import ${modules.join(', ')} (${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}); apt-get install python3-jwt python3-psycopg2 python3-argon2 python3-bcrypt`;
  if (process.env.CI === 'true') throw new Error(`Under CI=true the Python interchangeability tests are mandatory: ${reason}`);
  console.warn(`Skipping Python interchangeability tests: ${reason}`);
  return reason;
}

/** Runs a script of test/fixtures/python with one JSON request on stdin; returns its JSON answer. */
export function runPython<T = Record<string, unknown>>(script: string, request: unknown): T {
  const path = fileURLToPath(new URL(`../fixtures/python/${script}`, import.meta.url));
  const out = execFileSync(PYTHON, [path], { input: JSON.stringify(request), encoding: 'utf8' });
  return JSON.parse(out) as T;
}
