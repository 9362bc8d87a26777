// Runs one phase1-child.ts scenario in a fresh Node process and returns its JSON result. The child runs as
// compiled JavaScript with plain node, as the `memories` bin does: a TypeScript loader would add its own
// start-up and module-loading cost to every figure.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ChildResult, ChildSpec } from './phase1-child.ts';

const ROOT = join(import.meta.dirname, '..', '..');
let compiled: Promise<string> | null = null;

/** Compiles the sources and the bench children once per bench run (tsconfig.bench.json, into bench/tmp). */
function compiledChild(): Promise<string> {
  compiled ??= promisify(execFile)(process.execPath, [
    join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-p',
    join(ROOT, 'tsconfig.bench.json'),
  ]).then(() => join(ROOT, 'bench', 'tmp', 'compiled', 'scripts', 'bench', 'phase1-child.js'));
  return compiled;
}

export async function runChild<S extends ChildSpec>(spec: S): Promise<Extract<ChildResult, { scenario: S['scenario'] }>> {
  const args = [await compiledChild(), JSON.stringify(spec)];
  // A failed child rejects with its exit code and stderr.
  const { stdout } = await promisify(execFile)(process.execPath, args, { maxBuffer: 64 * 1024 * 1024 });
  const last = stdout.trim().split('\n').at(-1)!;
  return JSON.parse(last) as Extract<ChildResult, { scenario: S['scenario'] }>;
}
