// Byte formats of the pipeline-written memory files, as Codex 0.169 writes them (codex-observed §3.5). Existing
// Codex memory folders and the consolidation agent rely on these exact bytes.
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
      gitBranch: 'main',
    });
    await syncArtifacts(root, { retained: [memory] });

    expect(root).toBe(join(home, 'memories'));
    const names = await readdir(join(root, 'rollout_summaries'));
    // <creation time from the UUIDv7>-<4 base-62 chars of its low 32 bits>-<slug>
    expect(names).toEqual(['2025-02-11T15-34-48-0001-fix_flaky_ci.md']);
    const bytes = await readFile(join(root, 'rollout_summaries', names[0]!), 'utf8');
    expect(bytes).toBe(
      'thread_id: 0194f5a6-1111-7000-8000-000000000001\n' +
        'updated_at: 2026-02-18T10:30:00+00:00\n' +
        'rollout_path: /home/dev/.codex/sessions/rollout.jsonl\n' +
        'cwd: /home/dev/project\n' +
        'git_branch: main\n' +
        '\n' +
        '  ## Task\nFixed the flaky test.\n\n' +
        '\n',
    );
    expect(renderRolloutSummary(memory)).toBe(bytes);
  });

  it('leaves out git_branch when the branch is unknown', () => {
    expect(renderRolloutSummary(output({ gitBranch: null }))).toBe(
      'thread_id: 0194f5a6-1111-7000-8000-000000000001\n' +
        'updated_at: 2026-02-18T10:30:00+00:00\n' +
        'rollout_path: /home/dev/.codex/sessions/rollout.jsonl\n' +
        'cwd: /home/dev/project\n' +
        '\n' +
        'summary\n',
    );
  });
});

describe('raw_memories.md', () => {
  it('lists the outputs in ascending thread-id order with their rollout path and summary file, raw memories trimmed', async () => {
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
        'Merged stage-1 raw memories (stable ascending thread-id order):\n' +
        '\n' +
        '## Thread `0194f5a6-1111-7000-8000-000000000001`\n' +
        'updated_at: 2026-02-18T10:30:00+00:00\n' +
        'cwd: /work/a\n' +
        'rollout_path: /home/dev/.codex/sessions/rollout.jsonl\n' +
        'rollout_summary_file: 2025-02-11T15-34-48-0001.md\n' +
        '\n' +
        'older fact\n' +
        '\n' +
        '## Thread `0194f5a6-2222-7000-8000-000000000002`\n' +
        'updated_at: 2026-02-18T11:30:00+00:00\n' +
        'cwd: /work/b\n' +
        'rollout_path: /home/dev/.codex/sessions/rollout.jsonl\n' +
        'rollout_summary_file: 2025-02-11T15-34-53-0002.md\n' +
        '\n' +
        '- newer fact\n  - second line\n' +
        '\n',
    );
    // Whatever order the store returned, the file is in thread-id order (Codex 0.169).
    expect(renderRawMemories([older, newer])).toBe(renderRawMemories([newer, older]));
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
