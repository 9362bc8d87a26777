// The same fixture rollouts and the same scripted model replies, consolidated once with [memories] version = "v1"
// and once with "v2": each folder must have the names, headers and order of what Codex 0.169 itself wrote
// (../shared/codex-0.169-home-sample), and the two layouts must not disturb each other.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { readAllFiles, tempCodexHome } from './support/codex-home.ts';

const SAMPLE = join(import.meta.dirname, '..', '..', 'shared', 'codex-0.169-home-sample');
const NAME = /^(\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-[0-9A-Za-z]{4})(-[a-z0-9_]+)?\.md$/;

let home: string;
let cleanup: () => Promise<void>;
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
let rollouts: string[];
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
  rollouts = await installFixtureRollouts(home);
});
afterEach(async () => {
  await server.close();
  await cleanup();
});

function run(version: 'v1' | 'v2') {
  const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
  return runPipeline({ codexHome: home, model, config: { version }, retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 } });
}

/** `key: value` header lines up to the first blank line, in order. */
function header(text: string): Array<[string, string]> {
  const head = text.slice(0, text.indexOf('\n\n'));
  return head.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]);
}

type Summary = { name: string; header: Array<[string, string]>; body: string };

async function summaries(root: string): Promise<Summary[]> {
  const dir = join(root, 'rollout_summaries');
  const names = (await readdir(dir)).sort();
  return Promise.all(
    names.map(async (name) => {
      const text = await readFile(join(dir, name), 'utf8');
      return { name, header: header(text), body: text.slice(text.indexOf('\n\n') + 2) };
    }),
  );
}

const keys = (h: Array<[string, string]>) => h.map(([key]) => key);
const field = (h: Array<[string, string]>, key: string) => h.find(([k]) => k === key)?.[1];
const sections = (text: string) => text.split('\n').filter((line) => line.startsWith('## '));

/** What every summary folder must share with Codex's: name pattern, header keys in order, real rollout paths. */
async function expectSummariesLikeCodex(root: string, sampleRoot: string, shared: number): Promise<Summary[]> {
  const ours = await summaries(root);
  const sample = await summaries(sampleRoot);
  expect(ours.length).toBe(5); // the five idle interactive fixture rollouts
  const sampleKeys = keys(sample[0]!.header);
  expect(sampleKeys).toEqual(['thread_id', 'updated_at', 'rollout_path', 'cwd', 'git_branch']);
  for (const s of [...sample, ...ours]) expect(s.name).toMatch(NAME);
  for (const s of ours) {
    expect(keys(s.header)).toEqual(sampleKeys); // every fixture's session_meta names its branch
    expect(field(s.header, 'git_branch')).toBe('main');
    expect(field(s.header, 'updated_at')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00$/);
    const path = field(s.header, 'rollout_path')!;
    expect(rollouts).toContain(path);
    expect(path).toContain(field(s.header, 'thread_id'));
  }
  // Three fixtures are the very threads of Codex's v1 sample run: their names start exactly as Codex's did.
  for (const s of sample) {
    const mine = ours.find((o) => field(o.header, 'thread_id') === field(s.header, 'thread_id'));
    if (mine) expect(NAME.exec(mine.name)![1]).toBe(NAME.exec(s.name)![1]);
  }
  expect(ours.filter((o) => sample.some((s) => field(s.header, 'thread_id') === field(o.header, 'thread_id')))).toHaveLength(
    shared,
  );
  return ours;
}

async function expectSummaryLikeCodex(root: string, sampleRoot: string): Promise<void> {
  const text = await readFile(join(root, 'memory_summary.md'), 'utf8');
  const sample = await readFile(join(sampleRoot, 'memory_summary.md'), 'utf8');
  expect(text.split('\n')[0]).toBe('v1');
  expect(sections(text)).toEqual(sections(sample));
  expect(sections(sample)).toEqual(['## User Profile', '## User preferences', '## General Tips', "## What's in Memory"]);
}

describe('the same rollouts and replies, in both layouts', () => {
  it('writes v1 to memories/ as Codex 0.169 does', async () => {
    const result = await run('v1');
    expect(result.phase2).toMatchObject({ status: 'succeeded', selected: 5 });
    const root = join(home, 'memories');
    const sampleRoot = join(SAMPLE, 'memories-v1');
    const ours = await expectSummariesLikeCodex(root, sampleRoot, 3);
    await expectSummaryLikeCodex(root, sampleRoot);

    const raw = await readFile(join(root, 'raw_memories.md'), 'utf8');
    const sampleRaw = await readFile(join(sampleRoot, 'raw_memories.md'), 'utf8');
    expect(raw.split('\n').slice(0, 4)).toEqual(sampleRaw.split('\n').slice(0, 4));
    const blocks = (text: string) => text.split(/^## Thread `([^`]+)`\n/m).slice(1);
    const ids = blocks(raw).filter((_, i) => i % 2 === 0);
    expect(ids).toHaveLength(5);
    expect(ids).toEqual([...ids].sort());
    expect(blocks(sampleRaw).filter((_, i) => i % 2 === 0)).toEqual([...blocks(sampleRaw).filter((_, i) => i % 2 === 0)].sort());
    const sampleBlockKeys = keys(header(blocks(sampleRaw)[1]!));
    expect(sampleBlockKeys).toEqual(['updated_at', 'cwd', 'rollout_path', 'rollout_summary_file']);
    for (let i = 0; i < ids.length; i++) {
      const block = header(blocks(raw)[2 * i + 1]!);
      expect(keys(block)).toEqual(sampleBlockKeys);
      // rollout_summary_file names the summary of this very thread, whose rollout_path is the same.
      const summary = ours.find((s) => s.name === field(block, 'rollout_summary_file'))!;
      expect(field(summary.header, 'thread_id')).toBe(ids[i]);
      expect(field(block, 'rollout_path')).toBe(field(summary.header, 'rollout_path'));
    }

    const handbook = await readFile(join(root, 'MEMORY.md'), 'utf8');
    expect(handbook.startsWith('# Task Group: ')).toBe(true);
    for (const line of ['scope: ', 'applies_to: ', '## Task 1: ', '### rollout_summary_files', '### keywords']) {
      expect(handbook).toContain(line);
      expect(await readFile(join(sampleRoot, 'MEMORY.md'), 'utf8')).toContain(line);
    }
  });

  it('writes v2 to memories_v2/ as Codex 0.169 does: no raw_memories.md, no MEMORY.md, no raw memory asked', async () => {
    const result = await run('v2');
    expect(result.phase2).toMatchObject({ status: 'succeeded', selected: 5 });
    const root = join(home, 'memories_v2');
    const sampleRoot = join(SAMPLE, 'memories-v2');
    await expectSummariesLikeCodex(root, sampleRoot, 0);
    await expectSummaryLikeCodex(root, sampleRoot);
    for (const name of ['raw_memories.md', 'MEMORY.md']) {
      expect(existsSync(join(sampleRoot, name))).toBe(false);
      expect(existsSync(join(root, name))).toBe(false);
    }
    expect(existsSync(join(home, 'memories'))).toBe(false);
    // The v2 stage-1 schema: the summary and slug only; stored outputs carry an empty raw memory.
    const stage1 = server.requests.filter((r) => r.body?.text?.format?.name === 'codex_output_schema');
    expect(stage1).toHaveLength(5);
    for (const r of stage1) {
      expect(r.body.text.format.schema).toEqual({
        type: 'object',
        properties: { rollout_summary: { type: 'string' }, rollout_slug: { type: 'string' } },
        required: ['rollout_summary', 'rollout_slug'],
        additionalProperties: false,
      });
    }
    const { outputs } = await createLowdbStore({ dir: join(home, 'memories_v2_state') }).status();
    expect(outputs.map((o) => o.rawMemory)).toEqual(['', '', '', '', '']);
  });

  it('keeps each layout to its own folder and store, so switching versions corrupts neither', async () => {
    await run('v1');
    const v1Files = await readAllFiles(join(home, 'memories'));
    const v1Summaries = await summaries(join(home, 'memories'));
    const v2Result = await run('v2');
    // v2 has its own store: every thread is extracted again for it, not skipped as done.
    expect(v2Result.phase1).toMatchObject({ claimed: 5 });
    expect(await readAllFiles(join(home, 'memories'))).toEqual(v1Files);
    const v2Summaries = await summaries(join(home, 'memories_v2'));
    // Same replies: the same file names and summary texts in both folders.
    expect(v2Summaries.map((s) => [s.name, s.body])).toEqual(v1Summaries.map((s) => [s.name, s.body]));
    // Back to v1: nothing changed for it, so nothing runs.
    const again = await run('v1');
    expect(again.phase2?.status).toBe('skippedNotDirty');
    expect(await readAllFiles(join(home, 'memories'))).toEqual(v1Files);
  });
});
