// An existing memory folder someone made readable to others is made owner-only when phase 2 writes it.
import { chmod, mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { memoryRoot, rebuildRawMemories, syncArtifacts } from '../services/memory-folder/artifacts.ts';
import type { Stage1Output } from '../services/types.ts';

const output: Stage1Output = {
  threadId: '0194f5a6-1111-7000-8000-000000000001',
  sourceUpdatedAt: 1_771_410_600,
  cwd: '/home/dev/project',
  rolloutPath: '/home/dev/.codex/sessions/rollout.jsonl',
  generatedAt: 1_771_410_660,
  usageCount: 0,
  lastUsage: null,
  rawMemory: 'raw memory',
  rolloutSummary: 'summary',
  rolloutSlug: null,
};

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
