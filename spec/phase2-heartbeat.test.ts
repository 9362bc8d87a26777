// A long consolidation keeps its lease through heartbeats; time is a SimulatedClock shared by the
// machines' timers and the store's clock, and the test waits for each renewal's done event.
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type InspectionEvent, SimulatedClock, toPromise } from 'xstate';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { createMemoriesPipeline, runPipeline } from '../services/pipeline.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { isAgentRequest } from './support/agent-requests.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
});
afterEach(() => cleanup());

it('renews the global lease every 90 s while the agent runs, so no other worker can take it', async () => {
  let release!: () => void;
  const agentMayAnswer = new Promise<void>((resolve) => (release = resolve));
  let agentStarted = false;
  let onAgentStarted!: () => void;
  const agentHasStarted = new Promise<void>((resolve) => (onAgentStarted = resolve));
  const server = await startLocalOpenAIServer({
    handler: async (req) => {
      if (isAgentRequest(req.body) && !agentStarted) {
        agentStarted = true;
        onAgentStarted();
        await agentMayAnswer;
      }
      return scriptedHandler()(req);
    },
  });
  try {
    await installFixtureRollouts(home);
    const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
    await runPipeline({ codexHome: home, model, phase: '1' });

    const start = Date.now();
    const clock = new SimulatedClock();
    const now = () => start + clock.now();
    const store = createLowdbStore({ dir: join(home, 'memories_state'), now });
    let onRenewed: () => void = () => {};
    const inspect = (event: InspectionEvent) => {
      if (event.type === '@xstate.snapshot' && event.event.type === 'xstate.done.actor.renewLease') onRenewed();
    };
    const actor = createMemoriesPipeline({ codexHome: home, model, phase: '2', clock, now, store, inspect });
    await agentHasStarted;

    // Two simulated hours pass while the agent works: far past the 3,600 s lease.
    for (let elapsed = 0; elapsed < 7_200_000; elapsed += 90_000) {
      const renewed = new Promise<void>((resolve) => (onRenewed = resolve));
      clock.increment(90_000);
      await renewed;
    }
    const { globalJob } = await store.status();
    expect(globalJob?.status).toBe('running');
    expect(globalJob!.leaseUntil!).toBeGreaterThanOrEqual(Math.floor(now() / 1000) + 3_600 - 90);
    expect((await store.claimGlobalJob('another-worker', 3_600)).kind).toBe('skippedRunning');

    release();
    const output = await toPromise(actor);
    expect(output.phase2?.status).toBe('succeeded');
  } finally {
    release();
    await server.close();
  }
});
