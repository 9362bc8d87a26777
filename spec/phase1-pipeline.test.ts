// Phase 1 end to end: real fixture rollouts, the lowdb store on disk, the real openai SDK against a
// local OpenAI-compatible server on 127.0.0.1.
import { utimes } from 'node:fs/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { type PipelineOptions, runPipeline } from '../services/pipeline.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { readAllFiles, tempCodexHome } from './support/codex-home.ts';

type Server = Awaited<ReturnType<typeof startLocalOpenAIServer>>;

let home: string;
let cleanup: () => Promise<void>;
let server: Server | null = null;

beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
});
afterEach(async () => {
  await server?.close();
  server = null;
  await cleanup();
});

const fastRetries = { initialDelayMs: 5, maxDelayMs: 20 };

async function run(handler: Parameters<typeof startLocalOpenAIServer>[0]['handler'], extra: Partial<PipelineOptions> = {}) {
  server ??= await startLocalOpenAIServer({ handler });
  const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
  return runPipeline({ codexHome: home, model, phase: '1', retryPolicy: fastRetries, ...extra });
}

describe('phase 1 over the fixture rollouts', () => {
  it('extracts one memory per idle interactive rollout and never claims exec sessions', async () => {
    const paths = await installFixtureRollouts(home);
    const result = await run(scriptedHandler());
    const p1 = result.phase1!;
    expect(p1.filesSeen).toBe(paths.length);
    // Fixtures: 5 interactive (cli/vscode) rollouts with a user message, 3 exec ones.
    expect(p1.claimed).toBe(5);
    expect(p1.succeeded + p1.succeededNoOutput).toBe(5);
    expect(p1.failed).toBe(0);
    expect(server!.requests.length).toBe(5);
    const status = await createLowdbStore({ dir: `${home}/memories_state` }).status();
    expect(status.outputs.length).toBe(p1.succeeded);
    expect(status.jobs.every((job) => job.status === 'done')).toBe(true);
    for (const output of status.outputs) expect(output.rawMemory).toMatch(/^---\n/);
  });

  it('does nothing on a second run: no claim and no model request', async () => {
    await installFixtureRollouts(home);
    await run(scriptedHandler());
    const before = server!.requests.length;
    const second = await run(scriptedHandler());
    expect(second.phase1!.claimed).toBe(0);
    expect(second.phase1!.skipped.upToDate).toBe(5);
    expect(server!.requests.length).toBe(before);
  });

  it('re-extracts a rollout once it changed', async () => {
    const paths = await installFixtureRollouts(home);
    await run(scriptedHandler());
    const later = new Date(Date.now() - 6.5 * 3_600_000);
    const changed = paths.find((p) => p.includes('019c8a70'))!;
    await utimes(changed, later, later);
    const again = await run(scriptedHandler());
    expect(again.phase1!.claimed).toBe(1);
    expect(again.phase1!.jobs[0].threadId).toBe('019c8a70-dda7-7f33-98ea-f30553347322');
  });

  it('leaves rollouts alone that are still active or older than max_rollout_age_days', async () => {
    const paths = await installFixtureRollouts(home);
    const young = new Date(Date.now() - 3_600_000);
    const old = new Date(Date.now() - 31 * 86_400_000);
    await utimes(paths[0], young, young);
    await utimes(paths[1], old, old);
    const result = await run(scriptedHandler());
    const claimed = result.phase1!.jobs.map((j) => j.threadId);
    expect(claimed.some((id) => paths[0].includes(id))).toBe(false);
    expect(claimed.some((id) => paths[1].includes(id))).toBe(false);
  });

  it('claims at most max_rollouts_per_startup rollouts, newest first', async () => {
    await installFixtureRollouts(home, { count: 30 });
    const result = await run(scriptedHandler(), { config: { maxRolloutsPerStartup: 4 } });
    expect(result.phase1!.claimed).toBe(4);
    expect(server!.requests.length).toBe(4);
  });

  it('turns a malformed model reply into a failed job with a clear reason and a retry an hour later', async () => {
    await installFixtureRollouts(home);
    const before = Math.floor(Date.now() / 1000);
    const result = await run(() => ({ text: 'Sure! Here is the memory you asked for.' }));
    expect(result.phase1!.failed).toBe(5);
    const { jobs } = await createLowdbStore({ dir: `${home}/memories_state` }).status();
    for (const job of jobs) {
      expect(job.status).toBe('error');
      expect(job.lastError).toMatch(/not valid JSON|malformed|JSON/i);
      expect(job.retryRemaining).toBe(2);
      expect(job.retryAt).toBeGreaterThanOrEqual(before + 3_600);
    }
    // Three in-process attempts per job, then the failure is durable: the next run skips them.
    expect(server!.requests.length).toBe(15);
    const again = await run(() => ({ text: 'unused' }));
    expect(again.phase1!.claimed).toBe(0);
    expect(again.phase1!.skipped.retryBackoff).toBe(5);
  });

  it('never lets a secret from a model reply reach the disk', async () => {
    await installFixtureRollouts(home);
    const secrets = [
      'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789',
      'AKIAABCDEFGHIJKLMNOP',
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'xoxb-1234567890-abcdefghijkl',
    ];
    const result = await run(() => ({
      text: JSON.stringify({
        rollout_summary: `Deployed with token ${secrets[2]} and key ${secrets[0]}`,
        rollout_slug: `deploy ${secrets[3]}`,
        raw_memory: `---\ndescription: deploy\n---\n- the AWS key is ${secrets[1]}; password=hunter2hunter2`,
      }),
    }));
    expect(result.phase1!.succeeded).toBe(5);
    for (const [path, text] of await readAllFiles(home)) {
      if (path.includes('/sessions/')) continue;
      for (const secret of [...secrets, 'hunter2hunter2']) expect(text, path).not.toContain(secret);
    }
  });
});
