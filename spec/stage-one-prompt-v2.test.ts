// The v2 phase-1 request as Codex 0.169 sends it: its own system prompt, the cwd and git branch as hints, and the
// rollout's items one per line under a label naming the speaker, instead of v1's single JSON array.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_DIR } from '../scripts/fixture-corpus.ts';
import { buildStageOneRequest } from '../services/extraction/stage-one-prompt.ts';
import { parseStage1Reply } from '../services/extraction/stage-one-parse.ts';
import type { ThreadInfo } from '../services/types.ts';

const path = join(FIXTURE_DIR, 'two-turns-with-tool-calls.jsonl');
const thread: ThreadInfo = {
  threadId: '01a20de4-884e-78b3-9214-06e8a8c089a0',
  rolloutPath: path,
  cwd: '/tmp/work',
  source: 'vscode',
  updatedAt: 1_770_000_000,
  createdAt: null,
  hasUserMessage: true,
  sizeBytes: statSync(path).size,
};

describe('the v2 stage-1 request', () => {
  it('gives the cwd and the session_meta branch as hints and labels every item', async () => {
    const request = await buildStageOneRequest({ thread, model: 'gpt-5.3-codex-spark', version: 'v2' });
    expect(request.input).toMatch(/^- rollout_primary_cwd_hint: \/tmp\/work$/m);
    expect(request.input).toMatch(/^- rollout_primary_git_branch_hint: main$/m);
    expect(request.input).not.toMatch(/^- rollout_cwd:/m);
    expect(request.gitBranch).toBe('main');
    const labels = request.input.match(/^\[(human user|assistant final|assistant commentary|harness context|tool)\]$/gm) ?? [];
    expect(labels.length).toBe(request.items);
    expect(labels).toContain('[human user]');
    expect(labels).toContain('[harness context]');
    expect(labels).toContain('[tool]');
    expect(labels).toContain('[assistant final]');
    // Each label line is followed by one JSON item.
    for (const [, item] of request.input.matchAll(/^\[[a-z ]+\]\n(.*)$/gm)) expect(() => JSON.parse(item!)).not.toThrow();
    expect(request.instructions).toContain('task history, not a profile');
    expect(request.instructions).not.toContain('raw_memory');
  });

  it('keeps v1 as it was: one JSON array and the rollout_cwd line', async () => {
    const request = await buildStageOneRequest({ thread, model: 'gpt-5.3-codex-spark' });
    expect(request.input).toMatch(/^- rollout_cwd: \/tmp\/work$/m);
    expect(request.input).not.toMatch(/^\[human user\]$/m);
    expect(request.gitBranch).toBe('main');
  });

  it('parses a v2 reply into an empty raw memory and refuses a raw_memory it did not ask for', () => {
    expect(parseStage1Reply('{"rollout_summary":"s","rollout_slug":"x"}', 'v2')).toEqual({
      rolloutSummary: 's',
      rolloutSlug: 'x',
      rawMemory: '',
    });
    expect(() => parseStage1Reply('{"rollout_summary":"s","rollout_slug":"x","raw_memory":"m"}', 'v2')).toThrow(/raw_memory/);
    expect(() => parseStage1Reply('{"rollout_summary":"s","rollout_slug":"x"}', 'v1')).toThrow(/raw_memory/);
  });
});
