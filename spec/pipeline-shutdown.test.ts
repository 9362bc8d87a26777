// Stopping a pipeline mid-run loses nothing: aborted jobs give their leases back.
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { createActor } from 'xstate';
import { DEFAULT_RETRY_POLICY } from '../machines/retry-policy.ts';
import type { ModelClient } from '../services/model/model-client.ts';
import {
  createMemoriesPipeline,
  type MemoriesPipeline,
  pipelineDeps,
  providedCoordinator,
  runPipeline,
  stopPipeline,
} from '../services/pipeline.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { arrivals } from './support/arrivals.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
});
afterEach(() => cleanup());

/** A model server that never answers; `arrived` resolves once `n` requests hang in it. */
async function hangingModel(n: number) {
  const inFlight = arrivals(n);
  const slow = await startLocalOpenAIServer({
    handler: async () => {
      inFlight.signal();
      return { hangMs: 30_000 };
    },
  });
  const model = createModelClient({ apiKey: 'test', baseURL: slow.url, wireApi: 'responses' });
  return { slow, model, arrived: inFlight.all };
}

it('releases the leases of in-flight jobs when stopped, and the next run extracts them', async () => {
  const { slow, model, arrived } = await hangingModel(5);
  try {
    await installFixtureRollouts(home);
    const actor = createMemoriesPipeline({ codexHome: home, model, phase: '1' });
    await arrived;
    await stopPipeline(actor);

    const store = createLowdbStore({ dir: join(home, 'memories_state') });
    const { jobs } = await store.status();
    expect(jobs).toHaveLength(5);
    for (const job of jobs) expect(job).toMatchObject({ status: 'pending', leaseUntil: null, retryRemaining: 3 });
  } finally {
    await slow.close();
  }

  const fast = await startLocalOpenAIServer({ handler: scriptedHandler() });
  try {
    const model = createModelClient({ apiKey: 'test', baseURL: fast.url, wireApi: 'responses' });
    const result = await runPipeline({ codexHome: home, model, phase: '1' });
    expect(result.phase1).toMatchObject({ claimed: 5, failed: 0 });
  } finally {
    await fast.close();
  }
});

/** Two ways a pipeline actor comes to be: stopPipeline must release the jobs of both. */
const startedBy: Record<string, (model: ModelClient) => MemoriesPipeline> = {
  createMemoriesPipeline: (model) => createMemoriesPipeline({ codexHome: home, model, phase: '1', concurrency: 1 }),
  "a host's createActor(providedCoordinator(…))": (model) => {
    const input = {
      phases: { extract: true, consolidate: false },
      concurrency: 1,
      policy: DEFAULT_RETRY_POLICY,
      heartbeatMs: 60_000,
      consolidationHeartbeatMs: 60_000,
    };
    return createActor(providedCoordinator(pipelineDeps({ codexHome: home, model })), { input }).start();
  },
};

it.each(Object.keys(startedBy))('also releases jobs claimed but still waiting for a slot (actor made by %s)', async (how) => {
  const { slow, model, arrived } = await hangingModel(1);
  try {
    await installFixtureRollouts(home);
    const actor = startedBy[how]!(model);
    await arrived;
    await stopPipeline(actor);
    const { jobs } = await createLowdbStore({ dir: join(home, 'memories_state') }).status();
    expect(jobs).toHaveLength(5);
    for (const job of jobs) expect(job).toMatchObject({ status: 'pending', leaseUntil: null });
  } finally {
    await slow.close();
  }
});

it('gives the consolidation lease back when stopped during phase 2, so the next run consolidates at once', async () => {
  const agentStarted = arrivals(1);
  const server = await startLocalOpenAIServer({
    handler: async (req) => {
      if (Array.isArray(req.body.tools) && req.body.tools.length > 0) {
        agentStarted.signal();
        return { hangMs: 30_000 };
      }
      return scriptedHandler()(req);
    },
  });
  try {
    await installFixtureRollouts(home);
    const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
    const actor = createMemoriesPipeline({ codexHome: home, model });
    await agentStarted.all;
    await stopPipeline(actor);
    const { globalJob } = await createLowdbStore({ dir: join(home, 'memories_state') }).status();
    expect(globalJob).toMatchObject({ status: 'pending', leaseUntil: null, retryRemaining: 3 });
  } finally {
    await server.close();
  }
  const fast = await startLocalOpenAIServer({ handler: scriptedHandler() });
  try {
    const model = createModelClient({ apiKey: 'test', baseURL: fast.url, wireApi: 'responses' });
    const result = await runPipeline({ codexHome: home, model, phase: '2' });
    expect(result.phase2?.status).toBe('succeeded');
  } finally {
    await fast.close();
  }
});
