// A vitest reporter that ends every run with each skipped test and the reason in its title
// (every skip in this suite names why: the MikroORM version, a missing server, …), then, last,
// each failed test with the start of its error: CI keeps only the tail of the output, so the
// failures must come after the long list of skips.
import type { Reporter, RunnerTask, RunnerTestFile } from 'vitest';

const fullName = (task: RunnerTask): string => {
  const names = [task.name];
  for (let suite = task.suite; suite && suite !== task.file; suite = suite.suite) names.unshift(suite.name);
  return names.join(' > ');
};

/** The first lines of a failure's message, enough to tell one failure from another. */
const firstLines = (task: RunnerTask): string => {
  const error = task.result?.errors?.[0];
  const text = error ? `${error.name ?? 'Error'}: ${error.message ?? ''}` : 'failed (no error recorded)';
  return text.split('\n').slice(0, 6).join('\n      ').slice(0, 1500);
};

export default class SkipReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = []): void {
    const skipped: string[] = [];
    const failed: string[] = [];
    const visit = (task: RunnerTask): void => {
      if (task.type === 'test' && (task.mode === 'skip' || task.mode === 'todo' || task.result?.state === 'skip')) {
        skipped.push(`${task.file.name}: ${fullName(task)}`);
      }
      // A file that fails to load, or a hook that fails, fails its suite rather than a test.
      if (task.result?.state === 'fail' && (task.type === 'test' || !('tasks' in task) || task.result.errors?.length)) {
        failed.push(`${task.file?.name ?? task.name}: ${task.type === 'test' ? fullName(task) : task.name}\n      ${firstLines(task)}`);
      }
      if ('tasks' in task) task.tasks.forEach(visit);
    };
    files.forEach(visit);
    if (skipped.length > 0) {
      console.log(`\n${skipped.length} skipped, each with its reason in its title:`);
      for (const line of skipped) console.log(`  - ${line}`);
    }
    if (failed.length > 0) {
      console.log(`\n${failed.length} failed:`);
      for (const line of failed) console.log(`  - ${line}`);
    }
  }
}
