// A throwaway CODEX_HOME for a test, with helpers to read back what the pipeline wrote.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export async function tempCodexHome(): Promise<{ home: string; cleanup(): Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), 'memories-test-'));
  return { home, cleanup: () => rm(home, { recursive: true, force: true }) };
}

/** Every file under `dir` with its text, for "this never reaches disk" checks. */
export async function readAllFiles(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(path, await readFile(path, 'utf8'));
  }
  return files;
}
