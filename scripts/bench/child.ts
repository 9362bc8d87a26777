// Runs one phase1-child.ts scenario in a fresh Node process and returns its JSON result.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ChildResult, ChildSpec } from './phase1-child.ts';

export async function runChild<S extends ChildSpec>(spec: S): Promise<Extract<ChildResult, { scenario: S['scenario'] }>> {
  const args = ['--import', 'tsx', join(import.meta.dirname, 'phase1-child.ts'), JSON.stringify(spec)];
  // A failed child rejects with its exit code and stderr.
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 });
  const last = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last) as Extract<ChildResult, { scenario: S['scenario'] }>;
}
