// Rollout summary file names (shared spec §3.2, §8.2): Codex's slug mapping, and no model-written or
// corrupted text can ever name a file outside rollout_summaries/.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memoryRoot, rolloutSummaryStem, syncArtifacts } from '../services/memory-folder/artifacts.ts';
import type { Stage1Output } from '../services/types.ts';

const ID = '0194f5a6-7c2e-7a41-9f00-3b8c2d1e4f55';

describe('rolloutSummaryStem', () => {
  it('uses the thread id alone when the slug is missing', () => {
    expect(rolloutSummaryStem(ID, null)).toBe(ID);
  });

  it('uses the thread id alone when the slug is empty or sanitizes to nothing', () => {
    expect(rolloutSummaryStem(ID, '')).toBe(ID);
    expect(rolloutSummaryStem(ID, '!!! ---')).toBe(ID);
  });

  it('lower-cases, maps other characters to _, keeps 20 bytes and strips trailing _', () => {
    expect(rolloutSummaryStem(ID, 'Unsafe Slug/With Spaces & Symbols + EXTRA_LONG_12345')).toBe(`${ID}-unsafe_slug_with_spa`);
    expect(rolloutSummaryStem(ID, 'fix-ci')).toBe(`${ID}-fix_ci`);
    expect(rolloutSummaryStem(ID, 'trailing   ')).toBe(`${ID}-trailing`);
    expect(rolloutSummaryStem(ID, '__lead')).toBe(`${ID}-__lead`);
    // The cut happens before the strip: 19 letters then spaces → 19 letters.
    expect(rolloutSummaryStem(ID, 'abcdefghijklmnopqrs   tail')).toBe(`${ID}-abcdefghijklmnopqrs`);
  });

  it('maps each non-ASCII character to a single _', () => {
    // é, space, rocket, space → four underscores (the rocket is two UTF-16 units but one character).
    expect(rolloutSummaryStem(ID, 'café 🚀 déjà')).toBe(`${ID}-caf____d_j`);
  });

  it('leaves real (UUID) thread ids untouched', () => {
    expect(rolloutSummaryStem('019c6e27-e55b-73d1-87d8-4e01f1f75043', 'x')).toBe('019c6e27-e55b-73d1-87d8-4e01f1f75043-x');
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
    const stem = rolloutSummaryStem(ID, slug);
    expect(stem.startsWith(ID)).toBe(true);
    expect(stem).toMatch(/^[0-9a-z-]+(-[a-z0-9_]{1,20})?$/);
    const dir = resolve(home, 'rollout_summaries');
    const rel = relative(dir, resolve(dir, `${stem}.md`));
    expect(rel.includes(sep)).toBe(false);
    expect(rel.startsWith('..')).toBe(false);
  });

  it.each(HOSTILE_IDS.map((s) => [JSON.stringify(s), s]))('thread id %s', (_label, threadId) => {
    const stem = rolloutSummaryStem(threadId, '../x');
    expect(stem).not.toMatch(/[/\\\0]|\.\./);
    expect(stem).toMatch(/^[A-Za-z0-9_-]+$/);
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
    expect(() => rolloutSummaryStem('', 'slug')).toThrow(/empty/);
  });
});
