// Byte formats of the pipeline-written memory files (shared spec §3.3, §3.4). Existing Codex memory
// folders and the consolidation agent rely on these exact bytes.
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatRfc3339,
  memoryRoot,
  rebuildRawMemories,
  renderRawMemories,
  renderRolloutSummary,
  syncArtifacts,
} from '../services/memory-folder/artifacts.ts';
import { stage1Output } from './support/stage1-output.ts';

const T_2026_02_18_103000 = Date.UTC(2026, 1, 18, 10, 30, 0) / 1000;

const output = stage1Output;

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'artifacts-format-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

describe('timestamps', () => {
  it('renders RFC 3339 in UTC with whole seconds and +00:00, never Z', () => {
    expect(formatRfc3339(T_2026_02_18_103000)).toBe('2026-02-18T10:30:00+00:00');
    expect(formatRfc3339(0)).toBe('1970-01-01T00:00:00+00:00');
    expect(formatRfc3339(T_2026_02_18_103000 + 0.999)).toBe('2026-02-18T10:30:00+00:00');
  });
});

describe('rollout summary file', () => {
  it('is written to rollout_summaries/<stem>.md with the exact header, blank line and untrimmed summary', async () => {
    const root = memoryRoot(home);
    const memory = output({
      rolloutSlug: 'Fix flaky CI',
      rolloutSummary: '  ## Task\nFixed the flaky test.\n\n',
    });
    await syncArtifacts(root, { retained: [memory] });

    expect(root).toBe(join(home, 'memories'));
    const names = await readdir(join(root, 'rollout_summaries'));
    expect(names).toEqual(['0194f5a6-1111-7000-8000-000000000001-fix_flaky_ci.md']);
    const bytes = await readFile(join(root, 'rollout_summaries', names[0]!), 'utf8');
    expect(bytes).toBe(
      'thread_id: 0194f5a6-1111-7000-8000-000000000001\n' +
        'updated_at: 2026-02-18T10:30:00+00:00\n' +
        'cwd: /home/dev/project\n' +
        '\n' +
        '  ## Task\nFixed the flaky test.\n\n' +
        '\n',
    );
    expect(renderRolloutSummary(memory)).toBe(bytes);
  });
});

describe('raw_memories.md', () => {
  it('lists the given outputs in the given order, raw memories trimmed, each block ending in a blank line', async () => {
    const root = memoryRoot(home);
    const newer = output({
      threadId: '0194f5a6-2222-7000-8000-000000000002',
      sourceUpdatedAt: T_2026_02_18_103000 + 3600,
      cwd: '/work/b',
      rawMemory: '\n\n  - newer fact\n  - second line\n\n',
    });
    const older = output({ cwd: '/work/a', rawMemory: 'older fact' });
    await syncArtifacts(root, { retained: [newer, older] });
    await rebuildRawMemories(root, [newer, older]);

    const bytes = await readFile(join(root, 'raw_memories.md'), 'utf8');
    expect(bytes).toBe(
      '# Raw Memories\n' +
        '\n' +
        'Merged stage-1 raw memories (latest first):\n' +
        '\n' +
        '## Thread `0194f5a6-2222-7000-8000-000000000002`\n' +
        'updated_at: 2026-02-18T11:30:00+00:00\n' +
        'cwd: /work/b\n' +
        '\n' +
        '- newer fact\n  - second line\n' +
        '\n' +
        '## Thread `0194f5a6-1111-7000-8000-000000000001`\n' +
        'updated_at: 2026-02-18T10:30:00+00:00\n' +
        'cwd: /work/a\n' +
        '\n' +
        'older fact\n' +
        '\n',
    );
    // The order is the caller's (DB order); the renderer does not re-sort.
    expect(renderRawMemories([older, newer]).indexOf('000000000001')).toBeLessThan(
      renderRawMemories([older, newer]).indexOf('000000000002'),
    );
  });

  it('is exactly the placeholder when nothing is retained', async () => {
    const root = memoryRoot(home);
    await rebuildRawMemories(root, []);
    expect(await readFile(join(root, 'raw_memories.md'), 'utf8')).toBe('# Raw Memories\n\nNo raw memories yet.\n');
  });

  it('replaces a previous file completely', async () => {
    const root = memoryRoot(home);
    await rebuildRawMemories(root, [output({ rawMemory: 'x'.repeat(10_000) })]);
    await rebuildRawMemories(root, []);
    expect(await readFile(join(root, 'raw_memories.md'), 'utf8')).toBe('# Raw Memories\n\nNo raw memories yet.\n');
  });
});
