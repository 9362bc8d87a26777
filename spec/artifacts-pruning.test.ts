// Phase-2 sync and pruning of the memory folder (shared spec §3.5, §4.6; acceptance tests 3, 10, 12, 13).
import { lstat, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ArtifactSyncError,
  memoryRoot,
  rebuildRawMemories,
  rolloutSummaryStem,
  syncArtifacts,
  validateConsolidation,
} from '../services/memory-folder/artifacts.ts';
import type { Stage1Output } from '../services/types.ts';

function output(n: number, overrides: Partial<Stage1Output> = {}): Stage1Output {
  return {
    threadId: `0194f5a6-0000-7000-8000-00000000000${n}`,
    sourceUpdatedAt: 1_771_410_600 + n,
    cwd: `/work/p${n}`,
    rolloutPath: `/sessions/r${n}.jsonl`,
    generatedAt: 1_771_410_700,
    usageCount: 0,
    lastUsage: null,
    rawMemory: `memory ${n}`,
    rolloutSummary: `summary ${n}`,
    rolloutSlug: `slug ${n}`,
    ...overrides,
  };
}

const summaryName = (o: Stage1Output) => `${rolloutSummaryStem(o)}.md`;

let home: string;
let root: string;
let summaries: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'artifacts-pruning-'));
  root = memoryRoot(home);
  summaries = join(root, 'rollout_summaries');
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function caught(promise: Promise<unknown>): Promise<ArtifactSyncError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ArtifactSyncError);
  return error as ArtifactSyncError;
}

describe('syncArtifacts', () => {
  it('keeps the retained summaries, prunes stale .md files and leaves other names alone', async () => {
    await mkdir(summaries, { recursive: true });
    await writeFile(join(summaries, 'stale-thread.md'), 'old');
    await writeFile(join(summaries, 'notes.txt'), 'user file');
    await writeFile(join(summaries, '.hidden'), 'x');
    const kept = output(1);
    // An older version of the kept summary is overwritten, not duplicated.
    await writeFile(join(summaries, summaryName(kept)), 'previous body');

    await syncArtifacts(root, { retained: [kept] });
    await rebuildRawMemories(root, [kept]);

    expect((await readdir(summaries)).sort()).toEqual(['.hidden', summaryName(kept), 'notes.txt'].sort());
    expect(await readFile(join(summaries, summaryName(kept)), 'utf8')).toContain('summary 1\n');
    const raw = await readFile(join(root, 'raw_memories.md'), 'utf8');
    expect(raw).toContain('memory 1');
    expect(raw).toContain(kept.threadId);
    expect(raw).toContain('cwd: /work/p1');
  });

  it('also prunes the summary of a thread whose slug changed', async () => {
    const before = output(1, { rolloutSlug: 'first title' });
    const after = output(1, { rolloutSlug: 'second title' });
    await syncArtifacts(root, { retained: [before] });
    await syncArtifacts(root, { retained: [after] });
    expect(await readdir(summaries)).toEqual([summaryName(after)]);
  });

  it('keeps removed-but-kept evidence on disk without listing it in raw_memories.md', async () => {
    const current = output(1);
    const removed = output(2);
    await syncArtifacts(root, { retained: [current, removed] });
    await syncArtifacts(root, { retained: [current], keepAlso: [removed] });
    await rebuildRawMemories(root, [current]);

    expect((await readdir(summaries)).sort()).toEqual([summaryName(current), summaryName(removed)].sort());
    expect(await readFile(join(summaries, summaryName(removed)), 'utf8')).toContain('summary 2');
    expect(await readFile(join(root, 'raw_memories.md'), 'utf8')).not.toContain(removed.threadId);

    // Once forgotten for good, the evidence goes.
    await syncArtifacts(root, { retained: [current] });
    expect(await readdir(summaries)).toEqual([summaryName(current)]);
  });

  it('with nothing retained, clears summaries, the consolidated memory and skills, and writes the placeholder', async () => {
    await mkdir(join(root, 'skills', 'deploy', 'scripts'), { recursive: true });
    await writeFile(join(root, 'skills', 'deploy', 'SKILL.md'), 'skill');
    await writeFile(join(root, 'MEMORY.md'), 'memory');
    await writeFile(join(root, 'memory_summary.md'), 'summary');
    await mkdir(summaries, { recursive: true });
    await writeFile(join(summaries, 'stale.md'), 'stale');

    await syncArtifacts(root, { retained: [] });
    await rebuildRawMemories(root, []);

    expect(await readdir(summaries)).toEqual([]);
    expect(await exists(join(root, 'MEMORY.md'))).toBe(false);
    expect(await exists(join(root, 'memory_summary.md'))).toBe(false);
    expect(await exists(join(root, 'skills'))).toBe(false);
    expect(await readFile(join(root, 'raw_memories.md'), 'utf8')).toBe('# Raw Memories\n\nNo raw memories yet.\n');
  });

  it('with nothing retained but evidence kept, leaves the consolidated memory for the agent to revise', async () => {
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'MEMORY.md'), 'memory');
    await syncArtifacts(root, { retained: [], keepAlso: [output(2)] });
    expect(await exists(join(root, 'MEMORY.md'))).toBe(true);
  });

  it('works on a fresh CODEX_HOME and creates the layout owner-only', async () => {
    await syncArtifacts(root, { retained: [] });
    expect((await stat(summaries)).isDirectory()).toBe(true);
    expect((await stat(summaries)).mode & 0o777).toBe(0o700);
  });

  it('fails with failed_sync_artifacts when the memory root is a file', async () => {
    await writeFile(root, 'not a folder');
    const error = await caught(syncArtifacts(root, { retained: [output(1)] }));
    expect(error.step).toBe('failed_sync_artifacts');
    expect(error.message).toMatch(/not a directory/);
    expect(await readFile(root, 'utf8')).toBe('not a folder');
  });

  it('fails when MEMORY.md cannot be deleted (a directory), instead of silently keeping it', async () => {
    await mkdir(join(root, 'MEMORY.md'), { recursive: true });
    const error = await caught(syncArtifacts(root, { retained: [] }));
    expect(error.step).toBe('failed_sync_artifacts');
  });

  it('refuses a rollout_summaries symlink and does not touch what it points to', async () => {
    const outside = join(home, 'outside');
    await mkdir(outside);
    await writeFile(join(outside, 'precious.md'), 'keep me');
    await mkdir(root, { recursive: true });
    await symlink(outside, summaries);

    const error = await caught(syncArtifacts(root, { retained: [output(1)] }));
    expect(error.step).toBe('failed_sync_artifacts');
    expect(error.message).toMatch(/symlink/);
    expect(await readdir(outside)).toEqual(['precious.md']);
  });

  it('replaces a symlinked summary file instead of writing through it', async () => {
    const kept = output(1);
    const outsideFile = join(home, 'outside.md');
    await writeFile(outsideFile, 'outside content');
    await mkdir(summaries, { recursive: true });
    await symlink(outsideFile, join(summaries, summaryName(kept)));
    await symlink(outsideFile, join(summaries, 'stale.md'));

    await syncArtifacts(root, { retained: [kept] });

    expect(await readFile(outsideFile, 'utf8')).toBe('outside content');
    expect((await lstat(join(summaries, summaryName(kept)))).isFile()).toBe(true);
    expect(await exists(join(summaries, 'stale.md'))).toBe(false);
  });

  it('a stale entry that cannot be deleted is reported and skipped, not fatal', async () => {
    await mkdir(join(summaries, 'weird.md'), { recursive: true });
    const warnings: string[] = [];
    await syncArtifacts(root, { retained: [output(1)], warn: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain('weird.md');
    expect(await exists(join(summaries, summaryName(output(1))))).toBe(true);
  });
});

describe('rebuildRawMemories', () => {
  it('fails with failed_rebuild_raw_memories when raw_memories.md is a directory', async () => {
    await mkdir(join(root, 'raw_memories.md'), { recursive: true });
    await syncArtifacts(root, { retained: [output(1)] });
    const error = await caught(rebuildRawMemories(root, [output(1)]));
    expect(error.step).toBe('failed_rebuild_raw_memories');
    expect(error.message).toContain('raw_memories.md');
    // No temp files are left behind for the agent to trip over.
    expect((await readdir(root)).sort()).toEqual(['raw_memories.md', 'rollout_summaries']);
  });

  it('writes raw_memories.md owner-only', async () => {
    await rebuildRawMemories(root, [output(1)]);
    expect((await stat(join(root, 'raw_memories.md'))).mode & 0o777).toBe(0o600);
  });
});

describe('validateConsolidation', () => {
  it('accepts a folder where the agent wrote both files', async () => {
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'MEMORY.md'), '# Memory\n- fact\n');
    // Codex 0.169 requires the summary's first line to be exactly `v1`.
    await writeFile(join(root, 'memory_summary.md'), 'v1\n\nsummary\n');
    expect(await validateConsolidation(root)).toEqual({ ok: true, warnings: [] });
  });

  it('names what is wrong', async () => {
    await mkdir(root, { recursive: true });
    expect(await validateConsolidation(root)).toEqual({ ok: false, reason: 'MEMORY.md is missing' });
    await writeFile(join(root, 'MEMORY.md'), ' \n\t\n');
    expect(await validateConsolidation(root)).toEqual({ ok: false, reason: 'MEMORY.md is empty' });
    await writeFile(join(root, 'MEMORY.md'), 'fact');
    expect(await validateConsolidation(root)).toEqual({ ok: false, reason: 'memory_summary.md is missing' });
    await mkdir(join(root, 'memory_summary.md'));
    expect(await validateConsolidation(root)).toEqual({ ok: false, reason: 'memory_summary.md is not a regular file' });
  });
});

describe('a repeated sync', () => {
  it('rewrites a summary whose output changed and leaves unchanged files untouched', async () => {
    const a = output(1);
    const b = output(2);
    await syncArtifacts(root, { retained: [a, b] });
    const aPath = join(summaries, summaryName(a));
    const bPath = join(summaries, summaryName(b));
    const before = (await stat(aPath)).ino;
    const same = output(2, { rolloutSummary: 'summary 9' }); // same length, new bytes
    await syncArtifacts(root, { retained: [a, same] });
    expect((await stat(aPath)).ino).toBe(before);
    expect(await readFile(bPath, 'utf8')).toContain('summary 9');
  });
});
