// The report header's machine facts: current CPU speed and the git revision measured.
import { execFileSync } from 'node:child_process';
import { REPO_ROOT } from './corpus.ts';

/** A fixed single-thread workload, timed: how fast this machine is right now. */
export function cpuCheckMs(): number {
  const t = performance.now();
  let x = 0;
  for (let i = 0; i < 300_000_000; i++) x += i % 7;
  if (x < 0) throw new Error('unreachable'); // keeps the loop from being optimized away
  return performance.now() - t;
}

export function gitRevision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    // The report this run replaces does not make the tree dirty for it.
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', '.', ':!bench/results.md'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      }).trim() !== '';
    return `${head}${dirty ? ' (working tree has uncommitted changes)' : ''}`;
  } catch {
    return 'unknown revision';
  }
}
