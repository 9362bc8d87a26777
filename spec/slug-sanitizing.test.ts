// Rollout summary file names (shared spec §3.2, §8.2): Codex's slug mapping, and no model-written or
// corrupted text can ever name a file outside rollout_summaries/.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryRoot, rolloutSummaryStem, syncArtifacts } from '../services/memory-folder/artifacts.ts';
import type { Stage1Output } from '../services/types.ts';

const ID = '0194f5a6-7c2e-7a41-9f00-3b8c2d1e4f55';

// Codex 0.169 names a summary `<creation time>-<4 base-62 chars>[-<slug>]` (codex-observed §3.3): the time and
// the four chars come from the UUIDv7 id, so these stems are fixed by ID alone.
const PREFIX = '2025-02-11T15-35-16-e8a9';
const stem = (slug: string | null, threadId = ID) => rolloutSummaryStem({ threadId, sourceUpdatedAt: 0, rolloutSlug: slug });

describe('rolloutSummaryStem', () => {
  it('uses the creation time and hash alone when the slug is missing or empty', () => {
    expect(stem(null)).toBe(PREFIX);
    expect(stem('')).toBe(PREFIX);
    expect(stem('   ')).toBe(PREFIX);
  });

  it('lower-cases, maps other characters to _ and keeps 60 characters, trailing _ included', () => {
    expect(stem('Unsafe Slug/With Spaces & Symbols + EXTRA_LONG_12345')).toBe(
      `${PREFIX}-unsafe_slug_with_spaces___symbols___extra_long_12345`,
    );
    expect(stem('fix-ci')).toBe(`${PREFIX}-fix_ci`);
    expect(stem('trailing!!')).toBe(`${PREFIX}-trailing__`);
    expect(stem('__lead')).toBe(`${PREFIX}-__lead`);
    expect(stem('a'.repeat(70))).toBe(`${PREFIX}-${'a'.repeat(60)}`);
  });

  it('maps each non-ASCII character to a single _', () => {
    // é, space, rocket, space → four underscores (the rocket is two UTF-16 units but one character).
    expect(stem('café 🚀 déjà')).toBe(`${PREFIX}-caf____d_j_`);
  });

  it('names a summary as Codex 0.169 named the samples', () => {
    expect(stem('mock-prompt-3-4', '01a20de4-884e-78b3-9214-06e8a8c089a0')).toBe('2026-11-24T14-10-10-BnXO-mock_prompt_3_4');
    expect(stem('mock-prompt-10', '01a20de4-aa65-73c3-a3be-f088b0294cc2')).toBe('2026-11-24T14-10-19-0XGG-mock_prompt_10');
  });

  it('falls back to the snapshot time for an id that is not a UUIDv7', () => {
    const name = rolloutSummaryStem({ threadId: 'hand-made', sourceUpdatedAt: 1_771_410_600, rolloutSlug: 'x' });
    expect(name).toMatch(/^2026-02-18T10-30-00-[0-9A-Za-z]{4}-x$/);
  });

  it('falls back to the snapshot time for a UUIDv7 whose time is past year 9999 (ISO would write +010252-…)', () => {
    const name = rolloutSummaryStem({
      threadId: 'ffffffff-ffff-7fff-bfff-ffffffffffff',
      sourceUpdatedAt: 1_771_410_600,
      rolloutSlug: 'x',
    });
    expect(name).toMatch(/^2026-02-18T10-30-00-[0-9A-Za-z]{4}-x$/);
  });
});

const HOSTILE_SLUGS = [
  '../../etc/passwd',
  '/abs',
  '..',
  '.',
  'a\0b',
  '\0',
  'x'.repeat(10 * 1024),
  '🚀🚀🚀',
  'CON',
  '?*:|"<>',
  '\\..\\..\\windows',
  'line\nbreak',
];

const HOSTILE_IDS = ['../../escape', '/etc/passwd', '..', 'a/../../b', 'back\\slash', 'nul\0id', '.hidden'];

describe('hostile names stay inside rollout_summaries/', () => {
  let home: string;
  beforeAll(async () => {
    home = await mkdtemp(join(tmpdir(), 'slug-sanitizing-'));
  });
  afterAll(async () => {
    await rm(home, { recursive: true, force: true });
  });

  function output(threadId: string, slug: string | null): Stage1Output {
    return {
      threadId,
      rolloutSlug: slug,
      sourceUpdatedAt: 1_771_410_600,
      cwd: '/w',
      rolloutPath: '/r.jsonl',
      generatedAt: 1_771_410_600,
      usageCount: 0,
      lastUsage: null,
      rawMemory: 'm',
      rolloutSummary: 's',
    };
  }

  it.each(HOSTILE_SLUGS.map((s) => [JSON.stringify(s).slice(0, 40), s]))('slug %s', (_label, slug) => {
    const name = stem(slug);
    expect(name.startsWith(PREFIX)).toBe(true);
    expect(name).toMatch(/^[0-9A-Za-z-]+(-[a-z0-9_]{1,60})?$/);
    const dir = resolve(home, 'rollout_summaries');
    const rel = relative(dir, resolve(dir, `${name}.md`));
    expect(rel.includes(sep)).toBe(false);
    expect(rel.startsWith('..')).toBe(false);
  });

  it.each(HOSTILE_IDS.map((s) => [JSON.stringify(s), s]))('thread id %s', (_label, threadId) => {
    const name = stem('../x', threadId);
    expect(name).not.toMatch(/[/\\\0]|\.\./);
    expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('a sync with every hostile name writes only inside rollout_summaries/', async () => {
    const root = memoryRoot(home);
    const outputs = [
      ...HOSTILE_SLUGS.map((slug, i) => output(`0194f5a6-0000-7000-8000-0000000000${String(i).padStart(2, '0')}`, slug)),
      ...HOSTILE_IDS.map((id) => output(id, '../../x')),
    ];
    await syncArtifacts(root, { retained: outputs });

    expect(await readdir(home)).toEqual(['memories']);
    expect((await readdir(root)).sort()).toEqual(['rollout_summaries']);
    const files = await readdir(join(root, 'rollout_summaries'));
    expect(files).toHaveLength(outputs.length);
    for (const name of files) expect(name).toMatch(/^[A-Za-z0-9_-]+\.md$/);
  });

  it('rejects an empty thread id instead of writing a nameless file', () => {
    expect(() => stem('slug', '')).toThrow(/empty/);
  });
});
