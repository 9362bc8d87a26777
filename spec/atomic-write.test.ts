// Memory files are read by the consolidation agent and by new sessions at any time, and hold
// private text: a write must be all-or-nothing and owner-only.
import { spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ensureDir, writeFileAtomic } from '../services/files/atomic-write.ts';

const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'atomic-write-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('modes', () => {
  it('creates directories 0700 and files 0600, even when replacing a looser file', async () => {
    const nested = join(dir, 'a', 'b', 'c');
    await ensureDir(nested);
    for (const d of [join(dir, 'a'), join(dir, 'a', 'b'), nested]) {
      expect((await stat(d)).mode & 0o777).toBe(0o700);
    }
    const target = join(nested, 'file.md');
    await writeFile(target, 'old', { mode: 0o644 });
    await writeFileAtomic(target, 'new ✓');
    expect((await stat(target)).mode & 0o777).toBe(0o600);
    expect(await readFile(target, 'utf8')).toBe('new ✓');
    expect(await readdir(nested)).toEqual(['file.md']);
  });

  it("ensureDir takes group and other access from an existing directory, never widens its owner's", async () => {
    const cases: Array<[number, number]> = [
      [0o755, 0o700],
      [0o550, 0o500], // made read-only by the person: it stays so, and a write in it fails rather than succeed
      [0o500, 0o500],
      [0o700, 0o700],
    ];
    for (const [before, after] of cases) {
      const d = join(dir, before.toString(8));
      await mkdir(d);
      await chmod(d, before);
      await ensureDir(d);
      expect(((await stat(d)).mode & 0o777).toString(8)).toBe(after.toString(8));
    }
  });

  it('ensureDir is a no-op on an existing directory and fails on a file', async () => {
    await ensureDir(dir);
    await writeFile(join(dir, 'file'), '');
    await expect(ensureDir(join(dir, 'file'))).rejects.toThrow();
  });

  it('a failed write leaves neither a changed target nor a temp file behind', async () => {
    await ensureDir(join(dir, 'target-is-dir'));
    await expect(writeFileAtomic(join(dir, 'target-is-dir'), 'x')).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['target-is-dir']);
  });
});

describe('crash safety', () => {
  // A child process rewrites a large file in a loop and is killed with SIGKILL at an arbitrary
  // moment. Whatever the moment, the target must hold one complete version.
  it('a process killed mid-write leaves the old or the new content, never a mix or a prefix', async () => {
    const size = 16 * 1024 * 1024;
    const target = join(dir, 'raw_memories.md');
    const child = join(dir, 'child.mts');
    await writeFile(
      child,
      `import { writeFileAtomic } from ${JSON.stringify(join(PROJECT_ROOT, 'services', 'files', 'atomic-write.ts'))};
const a = 'A'.repeat(${size});
const b = 'B'.repeat(${size});
process.stdout.write('ready\\n');
for (let i = 0; ; i++) await writeFileAtomic(${JSON.stringify(target)}, i % 2 ? a : b);
`,
    );
    const valid = new Set(['old', 'A'.repeat(size), 'B'.repeat(size)]);
    let interruptedWrites = 0;

    for (let round = 0; round < 4; round++) {
      await writeFileAtomic(target, 'old');
      const proc = spawn(process.execPath, ['--import', 'tsx', child], {
        cwd: PROJECT_ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((ok, fail) => {
        proc.stdout.once('data', () => ok());
        proc.once('exit', (code) => fail(new Error(`child exited early with ${code}`)));
      });
      await new Promise((r) => setTimeout(r, 40 + round * 37));
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;

      const content = await readFile(target, 'utf8');
      expect(content.length === 3 || content.length === size).toBe(true);
      expect(valid.has(content)).toBe(true);
      // A leftover temp file shows the kill landed inside a write; clear it for the next round.
      const leftovers = (await readdir(dir)).filter((n) => n.endsWith('.tmp'));
      if (leftovers.length > 0) interruptedWrites++;
      for (const name of leftovers) await rm(join(dir, name));
    }
    // Proves the test exercised the interesting case at least once.
    expect(interruptedWrites).toBeGreaterThan(0);
  });
});
