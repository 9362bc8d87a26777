// Codex's five instruments, read back from the SDK's in-memory exporter after real runs: the fixture rollouts, the
// store on disk, the real openai SDK against the local model server. One job answers with a memory, one with
// nothing to remember, one is refused, two more with a memory; the second run finds nothing to claim and nothing
// to consolidate.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Handler, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { isAgentRequest } from './support/agent-requests.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { inMemoryTelemetry, type RecordedPoint } from './support/telemetry.ts';

let home: string;
let cleanup: () => Promise<void>;
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
const first: RecordedPoint[] = [];
const second: RecordedPoint[] = [];

const scripted = scriptedHandler();
let stage1Requests = 0;
// Concurrency 1 runs the five interactive rollouts one after the other, so each answer goes to a known job.
const handler: Handler = (req) => {
  if (isAgentRequest(req.body)) return scripted(req);
  const job = stage1Requests++;
  if (job === 1)
    return { text: JSON.stringify({ rollout_summary: '', rollout_slug: null, raw_memory: '' }), usage: { input: 50, output: 2 } };
  if (job === 2) return { status: 400, body: { error: { message: 'this rollout is refused' } } };
  return { ...(scripted(req) as { text: string }), usage: { input: 100, output: 10, cachedInput: 20, reasoningOutput: 5 } };
};

async function run() {
  const { telemetry, points } = inMemoryTelemetry();
  const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
  await runPipeline({
    codexHome: home,
    model,
    telemetry,
    concurrency: 1,
    config: { version: 'v1' },
    retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 },
  });
  return points();
}

beforeAll(async () => {
  ({ home, cleanup } = await tempCodexHome());
  server = await startLocalOpenAIServer({ handler });
  await installFixtureRollouts(home);
  first.push(...(await run()));
  second.push(...(await run()));
});
afterAll(async () => {
  await server.close();
  await cleanup();
});

const byName = (points: RecordedPoint[], name: string) =>
  points
    .filter((p) => p.name === name)
    .map(({ attributes, value, count }) => ({ ...attributes, value, ...(count ? { count } : {}) }));

describe('the five instruments', () => {
  it('count the jobs of a run by status: claimed, succeeded, succeeded_no_output and failed', () => {
    expect(byName(first, 'codex.memory.phase1')).toEqual([
      { status: 'claimed', value: 5 },
      { status: 'succeeded', value: 3 },
      { status: 'succeeded_no_output', value: 1 },
      { status: 'failed', value: 1 },
    ]);
    expect(byName(first, 'codex.memory.phase1.output')).toEqual([{ value: 3 }]);
  });

  it('record the phase-1 token usage once per token_type, summed over the jobs that reported it', () => {
    expect(byName(first, 'codex.memory.phase1.token_usage')).toEqual([
      { token_type: 'total', value: 3 * 110 + 52, count: 1 },
      { token_type: 'input', value: 3 * 100 + 50, count: 1 },
      { token_type: 'cached_input', value: 3 * 20, count: 1 },
      { token_type: 'output', value: 3 * 10 + 2, count: 1 },
      { token_type: 'reasoning_output', value: 3 * 5, count: 1 },
    ]);
  });

  it('count a consolidation that ran its agent over the three memories', () => {
    expect(byName(first, 'codex.memory.phase2')).toEqual([
      { status: 'claimed', value: 1 },
      { status: 'agent_spawned', value: 1 },
      { status: 'succeeded', value: 1 },
    ]);
    expect(byName(first, 'codex.memory.phase2.input')).toEqual([{ value: 3 }]);
  });

  it('count a run with nothing to claim as skipped_no_candidates, and a phase 2 with nothing new as failed_claim', () => {
    expect(second.map(({ name, attributes, value }) => ({ name, ...attributes, value }))).toEqual([
      { name: 'codex.memory.phase1', status: 'skipped_no_candidates', value: 1 },
      { name: 'codex.memory.phase2', status: 'failed_claim', value: 1 },
    ]);
  });

  it('are counters and one histogram, with no unit, as Codex creates them', () => {
    const kinds = new Map(first.map((p) => [p.name, `${p.kind}, unit '${p.unit}'`]));
    expect(Object.fromEntries(kinds)).toEqual({
      'codex.memory.phase1': "monotonic sum, unit ''",
      'codex.memory.phase1.output': "monotonic sum, unit ''",
      'codex.memory.phase1.token_usage': "histogram, unit ''",
      'codex.memory.phase2': "monotonic sum, unit ''",
      'codex.memory.phase2.input': "monotonic sum, unit ''",
    });
  });
});
