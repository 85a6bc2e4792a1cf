// A vitest reporter that ends every run with each skipped test and the reason in its title
// (every skip in this suite names why: the MikroORM version, a missing server, …).
import type { Reporter, RunnerTask, RunnerTestFile } from 'vitest';

const fullName = (task: RunnerTask): string => {
  const names = [task.name];
  for (let suite = task.suite; suite && suite !== task.file; suite = suite.suite) names.unshift(suite.name);
  return names.join(' > ');
};

export default class SkipReporter implements Reporter {
  onFinished(files: RunnerTestFile[] = []): void {
    const skipped: string[] = [];
    const visit = (task: RunnerTask): void => {
      if (task.type === 'test' && (task.mode === 'skip' || task.mode === 'todo' || task.result?.state === 'skip')) {
        skipped.push(`${task.file.name}: ${fullName(task)}`);
      }
      if ('tasks' in task) task.tasks.forEach(visit);
    };
    files.forEach(visit);
    if (skipped.length === 0) return;
    console.log(`\n${skipped.length} skipped, each with its reason in its title:`);
    for (const line of skipped) console.log(`  - ${line}`);
  }
}
