// The package entry as a host sees it: the machines, a started pipeline actor with the default
// services, and the service interfaces through which a host brings its own model, store and clock.
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as lib from '../index.ts';
import {
  consolidationMachine,
  coordinatorMachine,
  createLowdbStore,
  createMemoriesPipeline,
  extractionMachine,
  pipelineOutput,
  stopPipeline,
  type AgentTurnRequest,
  type MemoryStore,
  type ModelClient,
  type Stage1Request,
} from '../index.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';

/** An in-process model: a fixed stage-1 memory per rollout; the agent writes both files, then stops. */
function fakeModel() {
  const stage1: Stage1Request[] = [];
  const turns: AgentTurnRequest[] = [];
  const model: ModelClient = {
    async extractStage1(req) {
      stage1.push(req);
      return {
        reply: {
          rawMemory: `memory #${stage1.length}`,
          rolloutSummary: `summary #${stage1.length}`,
          rolloutSlug: `fake ${stage1.length}`,
        },
        usage: { input: 100, cachedInput: 0, output: 10, reasoningOutput: 0, total: 110 },
        rawText: '{}',
      };
    },
    async agentTurn(req) {
      turns.push(req);
      if (turns.length > 1) return { text: 'done', toolCalls: [], usage: null };
      return {
        text: '',
        toolCalls: [
          { id: 'a', name: 'write_file', arguments: JSON.stringify({ path: 'MEMORY.md', content: '# Memory\n\nhost model\n' }) },
          {
            id: 'b',
            name: 'write_file',
            arguments: JSON.stringify({ path: 'memory_summary.md', content: 'v1\n\nhost summary\n' }),
          },
        ],
        usage: null,
      };
    },
  };
  return { model, stage1, turns };
}

/** A host store: the default lowdb store behind a proxy that records which methods were called. */
function recordingStore(dir: string, now: () => number): { store: MemoryStore; calls: string[] } {
  const inner = createLowdbStore({ dir, now });
  const calls: string[] = [];
  const store = new Proxy(inner, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(key));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store, calls };
}

describe('the package entry (index.ts)', () => {
  it('exports the three machines, the runtime and the default services', () => {
    for (const machine of [coordinatorMachine, extractionMachine, consolidationMachine]) {
      expect(typeof machine.provide).toBe('function');
      expect(machine.config.initial).toBeTypeOf('string');
    }
    for (const name of [
      'createMemoriesPipeline',
      'runPipeline',
      'stopPipeline',
      'pipelineOutput',
      'providedCoordinator',
      'createModelClient',
      'modelClientFromEnvironment',
      'createLowdbStore',
      'fileLogger',
      'loadMemoriesConfig',
      'buildReadPathInstructions',
    ] as const) {
      expect(lib[name], name).toBeTypeOf('function');
    }
    expect(lib.DEFAULT_CONFIG).toMatchObject({
      maxRolloutsPerStartup: 16,
      phase1Model: 'gpt-5.3-codex-spark',
      phase2Model: 'gpt-5.3-codex',
    });
  });

  it('createMemoriesPipeline returns a started actor that runs with the host model, store and clock', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      const installedAt = Date.parse('2026-01-10T12:00:00Z');
      await installFixtureRollouts(home, { now: installedAt });
      const fixedNow = installedAt + 2 * 86_400_000; // the host's clock: two days later
      const { model, stage1, turns } = fakeModel();
      const { store, calls } = recordingStore(join(home, 'host-state'), () => fixedNow);

      const pipeline = createMemoriesPipeline({
        codexHome: home,
        model,
        store,
        now: () => fixedNow,
        stateDir: join(home, 'host-state'),
      });
      expect(pipeline.getSnapshot().status).toBe('active');
      const finished: string[] = [];
      pipeline.on('job.finished', ({ output }) => finished.push(output.outcome));

      const result = await pipelineOutput(pipeline);
      // Five of the fixture rollouts are interactive and idle; the others are `exec` sessions.
      expect(result.phase1).toMatchObject({ eligible: 5, claimed: 5, succeeded: 5, failed: 0 });
      expect(result.phase2).toMatchObject({ status: 'succeeded', selected: 5 });
      expect(finished).toEqual(Array(5).fill('succeeded'));
      expect(stage1).toHaveLength(5);
      expect(turns.length).toBeGreaterThanOrEqual(2);

      // The host's store and clock were the ones used.
      expect(calls).toEqual(
        expect.arrayContaining(['claimStage1Jobs', 'markStage1Succeeded', 'claimGlobalJob', 'markGlobalSucceeded']),
      );
      const status = await store.status();
      expect(new Set(status.outputs.map((o) => o.generatedAt))).toEqual(new Set([fixedNow / 1000]));
      expect(await readdir(join(home, 'memories_state')).catch(() => [])).not.toContain('jobs.json');

      expect(await readFile(join(home, 'memories', 'MEMORY.md'), 'utf8')).toContain('host model');
      expect(await lib.buildReadPathInstructions(home)).toContain('host summary');
    } finally {
      await cleanup();
    }
  });

  it('refuses a codexHome that does not exist instead of creating it and running empty', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      const { model } = fakeModel();
      const mistyped = join(home, 'no-such-home');
      expect(() => createMemoriesPipeline({ codexHome: mistyped, model })).toThrow(lib.ConfigError);
      await expect(lib.runPipeline({ codexHome: mistyped, model })).rejects.toThrow(`codexHome ${mistyped} does not exist`);
      await expect(readdir(mistyped)).rejects.toMatchObject({ code: 'ENOENT' });
    } finally {
      await cleanup();
    }
  });

  it('stopPipeline stops a running pipeline and leaves its jobs claimable', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      let inFlight = 0;
      let allCalling!: () => void;
      const called = new Promise<void>((resolve) => (allCalling = resolve));
      // A model that never answers: the pipeline is stopped while all five calls hang.
      const never: ModelClient = {
        extractStage1: (req) =>
          new Promise((_, reject) => {
            req.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
            if (++inFlight === 5) allCalling();
          }),
        agentTurn: async () => ({ text: 'done', toolCalls: [], usage: null }),
      };
      const pipeline = createMemoriesPipeline({ codexHome: home, model: never, phase: '1' });
      await called;
      await stopPipeline(pipeline);
      expect(pipeline.getSnapshot().status).toBe('stopped');
      // Awaiting it still gives a summary (README's example destructures it): what it did, marked stopped.
      const stopped = await pipelineOutput(pipeline);
      expect(stopped).toMatchObject({ stopped: true, phase1: { claimed: 5, succeeded: 0 }, phase2: null });

      const { model } = fakeModel();
      const again = await lib.runPipeline({ codexHome: home, model, phase: '1' });
      // The hung job's lease was released, so it is claimable at once: all five are extracted now.
      expect(again.phase1).toMatchObject({ claimed: 5, succeeded: 5, skipped: { running: 0 } });
    } finally {
      await cleanup();
    }
  });
});
