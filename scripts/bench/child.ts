// Runs one phase1-child.ts scenario in a fresh Node process and returns its JSON result.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { ChildResult, ChildSpec } from './phase1-child.ts';

export async function runChild<S extends ChildSpec>(spec: S): Promise<Extract<ChildResult, { scenario: S['scenario'] }>> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'phase1-child.ts'), JSON.stringify(spec)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`bench child (${spec.scenario}) exited with ${code}`);
  const last = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last) as Extract<ChildResult, { scenario: S['scenario'] }>;
}
