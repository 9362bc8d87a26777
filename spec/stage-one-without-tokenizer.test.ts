// A rollout within its budget in bytes is sent whole without loading the tokenizer (a few hundred
// ms of the thread and ~85 MB): a token is at least one byte. Over it in bytes, the tokenizer
// decides, and a rollout that fits in tokens is still sent whole. Its own file: the tokenizer is
// loaded once per module graph.
import { readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { buildStageOneRequest, stageOneTokenLimit } from '../services/extraction/stage-one-prompt.ts';
import { tokenizerLoaded } from '../services/tokens/tokens.ts';
import type { ThreadInfo } from '../services/types.ts';
import { REAL_ROLLOUTS } from './support/shared.ts';

const MODEL = 'gpt-5.3-codex-spark';
const thread = (rolloutPath: string): ThreadInfo => ({
  threadId: '019a93b9-f380-7600-98ff-940e6b99603c',
  rolloutPath,
  cwd: '/home/me/project',
  source: 'cli',
  updatedAt: 1_770_000_000,
  createdAt: null,
  hasUserMessage: true,
  sizeBytes: statSync(rolloutPath).size,
});
const SMALL = `${REAL_ROLLOUTS}/madshn__localpush__rollout-2026-02-23T13-19-38-019c8a70-dda7-7f33-98ea-f30553347322.jsonl`;
// 334 KB of JSONL; ~100 KB once filtered, ~30,700 tokens: over the 85,120-token limit in bytes only.
const NEAR = `${REAL_ROLLOUTS}/AcidicSoil__codex-session-view__rollout-2025-11-17T15-30-28-019a93b9-f380-7600-98ff-940e6b99603c.jsonl`;
// 1.7 MB, ~290,000 tokens once filtered: must really be cut.
const FAR = `${REAL_ROLLOUTS}/AcidicSoil__codex-session-viewer__example.jsonl`;

describe('building a phase-1 request', () => {
  it('sends a rollout within its budget in bytes whole, without loading the tokenizer', async () => {
    const request = await buildStageOneRequest({ thread: thread(SMALL), model: MODEL });
    expect(request.truncated).toBe(false);
    expect(request.items).toBeGreaterThan(0);
    expect(tokenizerLoaded()).toBe(false);
  });

  it('sends a rollout over its budget in bytes but within it in tokens whole, as the real count says', async () => {
    const limit = stageOneTokenLimit(MODEL);
    const request = await buildStageOneRequest({ thread: thread(NEAR), model: MODEL });
    expect(request.truncated).toBe(false);
    expect(request.retainedBytes).toBeGreaterThan(limit); // it was over the budget in bytes
    const enc = (createRequire(import.meta.url)('tiktoken') as typeof import('tiktoken')).get_encoding('o200k_base');
    const contents = request.input.slice(request.input.indexOf('['), request.input.lastIndexOf(']') + 1);
    expect(enc.encode_ordinary(contents).length).toBeLessThanOrEqual(limit);
    expect(readFileSync(NEAR).length).toBeGreaterThan(3 * limit);
  });

  it('loads the tokenizer for a rollout that must be cut, and cuts it to the limit', async () => {
    const request = await buildStageOneRequest({ thread: thread(FAR), model: MODEL });
    expect(request.truncated).toBe(true);
    expect(tokenizerLoaded()).toBe(true);
  });
});
