// Runs one phase1-child.ts scenario in a fresh Node process and returns its JSON result. Bench children run as
// compiled JavaScript with plain node, as the `memories` bin does: a TypeScript loader would add its own
// start-up and module-loading cost to every figure.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ChildResult, ChildSpec } from './phase1-child.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let compiled: Promise<string> | null = null;

/** The compiled copy of scripts/bench/<name>.ts; the sources and children are compiled once per bench run. */
export async function compiledBenchScript(name: string): Promise<string> {
  compiled ??= promisify(execFile)(process.execPath, [
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    join(ROOT, 'tsconfig.bench.json'),
  ]).then(() => join(ROOT, 'bench', 'tmp', 'compiled', 'scripts', 'bench'));
  return join(await compiled, `${name}.js`);
}

export async function runChild<S extends ChildSpec>(spec: S): Promise<Extract<ChildResult, { scenario: S['scenario'] }>> {
  const args = [await compiledBenchScript('phase1-child'), JSON.stringify(spec)];
  // A failed child rejects with its exit code and stderr.
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 });
  const last = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last) as Extract<ChildResult, { scenario: S['scenario'] }>;
}
