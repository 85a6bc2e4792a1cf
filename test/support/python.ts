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

/**
 * A set of the Python side's SQLAlchemy and Alembic that the SQLite schema tests run with:
 * `env` is what the Python process gets (PYTHONPATH for the unpacked one).
 */
export interface PythonStack {
  /** `SQLAlchemy 2.0.40, Alembic 1.13.2`, as the stack itself reports it. */
  name: string;
  env: NodeJS.ProcessEnv;
}

/** Where scripts/python-sqlalchemy2.sh unpacks SQLAlchemy 2 and Alembic (Debian 13's packages; .ci/run runs it). */
export const SQLALCHEMY2_SITE =
  process.env.FULLAUTH_TEST_SQLALCHEMY2 ?? fileURLToPath(new URL('../../.fullauth-dev/python-sqlalchemy2/usr/lib/python3/dist-packages', import.meta.url));

const STACK_PROBE = 'import sqlalchemy, alembic; print(f"SQLAlchemy {sqlalchemy.__version__}, Alembic {alembic.__version__}")';

/**
 * The SQLAlchemy/Alembic sets to run with: Debian 12's own (SQLAlchemy 1.4) and SQLAlchemy 2,
 * which fastapi-fullauth 0.15 runs on. `missing` says why one cannot run here; under CI=true a
 * missing set fails the run instead (both are mandatory there).
 */
export function sqlalchemyStacks(): { stacks: PythonStack[]; missing: string[] } {
  const stacks: PythonStack[] = [];
  const missing: string[] = [];
  const candidates: { label: string; env: NodeJS.ProcessEnv; major: string; hint: string }[] = [
    { label: "Debian's python3-sqlalchemy and python3-alembic", env: {}, major: '1.', hint: 'apt-get install python3-sqlalchemy python3-alembic' },
    { label: `SQLAlchemy 2 in ${SQLALCHEMY2_SITE}`, env: { PYTHONPATH: SQLALCHEMY2_SITE }, major: '2.', hint: 'bash scripts/python-sqlalchemy2.sh' },
  ];
  for (const { label, env, major, hint } of candidates) {
    const full = { ...process.env, ...env };
    const probe = spawnSync(PYTHON, ['-c', STACK_PROBE], { encoding: 'utf8', env: full });
    const name = probe.stdout?.trim() ?? '';
    if (probe.status === 0 && name.startsWith(`SQLAlchemy ${major}`)) {
      stacks.push({ name, env: full });
      continue;
    }
    const why = probe.status === 0 ? `found ${name}` : (probe.stderr || probe.error?.message || '').trim().split('\n').pop();
    const reason = `${PYTHON} cannot use ${label} (${why}); ${hint}`;
    if (process.env.CI === 'true') throw new Error(`Under CI=true the SQLite/Alembic tests run with both SQLAlchemy 1.4 and 2: ${reason}`);
    console.warn(`SQLite/Alembic tests: ${reason}`);
    missing.push(reason);
  }
  return { stacks, missing };
}
