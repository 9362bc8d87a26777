// An existing memory folder someone made readable to others is made owner-only when phase 2 writes it.
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { memoryRoot, rebuildRawMemories, syncArtifacts } from '../services/memory-folder/artifacts.ts';
import { stage1Output } from './support/stage1-output.ts';

const output = stage1Output();

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'memory-modes-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

it('tightens looser directories to 0700 and unchanged pipeline files to 0600', async () => {
  const root = memoryRoot(home);
  const summaries = join(root, 'rollout_summaries');
  await mkdir(summaries, { recursive: true });
  await syncArtifacts(root, { retained: [output] });
  await rebuildRawMemories(root, [output]);
  const [summary] = await readdir(summaries);
  await chmod(root, 0o755);
  await chmod(summaries, 0o777);
  await chmod(join(summaries, summary), 0o644);
  await chmod(join(root, 'raw_memories.md'), 0o664);

  await syncArtifacts(root, { retained: [output] });
  await rebuildRawMemories(root, [output]);

  const mode = async (path: string) => (await stat(path)).mode & 0o777;
  expect(await mode(root)).toBe(0o700);
  expect(await mode(summaries)).toBe(0o700);
  expect(await mode(join(summaries, summary))).toBe(0o600);
  expect(await mode(join(root, 'raw_memories.md'))).toBe(0o600);
});
