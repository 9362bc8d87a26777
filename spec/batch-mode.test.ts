// Batch mode end to end: the fixture rollouts, the lowdb store on disk, the real openai SDK's Files
// and Batches calls against the local server, which settles batches when the test says so.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BATCH_LEASE_SECONDS, type BatchApi, createBatchApi } from '../services/batch/batch-api.ts';
import { runBatchPhase1 } from '../services/batch/batch-mode.ts';
import { collectBatches } from '../services/batch/collect.ts';
import { submitBatch } from '../services/batch/submit.ts';
import { type Handler, type LocalOpenAIServer, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { createModelClient } from '../services/model/model-client.ts';
import type { PipelineDeps } from '../services/pipeline-deps.ts';
import { type PipelineOptions, pipelineDeps, runPipeline } from '../services/pipeline.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import type { MemoriesConfig } from '../services/config.ts';
import { formatBatchPhase1 } from '../scripts/commands/batch-summary.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { readAllFiles, tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';

// Fixtures: 5 interactive (cli/vscode) rollouts with a user message, 3 exec ones.
const INTERACTIVE = 5;

const homes: Array<() => Promise<void>> = [];
const servers: LocalOpenAIServer[] = [];

afterEach(async () => {
  for (const server of servers.splice(0)) await server.close();
  for (const cleanup of homes.splice(0)) await cleanup();
});

async function newHome(): Promise<string> {
  const { home, cleanup } = await tempCodexHome();
  homes.push(cleanup);
  await installFixtureRollouts(home);
  return home;
}

async function newServer(handler: Handler = scriptedHandler()): Promise<LocalOpenAIServer> {
  const server = await startLocalOpenAIServer({ handler });
  servers.push(server);
  return server;
}

interface Setup {
  home: string;
  server: LocalOpenAIServer;
  api: BatchApi;
  /** Fresh deps per run, as each `memories run --batch` process would build them. */
  deps(extra?: { config?: Partial<MemoriesConfig>; now?: () => number; workerId?: string }): PipelineDeps;
  store(now?: () => number): ReturnType<typeof createLowdbStore>;
  modelCalls(): number;
}

async function setup(handler?: Handler): Promise<Setup> {
  const home = await newHome();
  const server = await newServer(handler);
  const api = createBatchApi({ apiKey: 'test', baseURL: server.url });
  const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
  const store = (now?: () => number) => createLowdbStore({ dir: `${home}/memories_state`, now });
  return {
    home,
    server,
    api,
    deps: (extra = {}) => pipelineDeps({ codexHome: home, model, store: store(extra.now), ...extra }),
    store,
    modelCalls: () => server.requests.filter((r) => r.path === '/v1/responses').length,
  };
}

/** The synchronous path over the same corpus, for comparison. */
async function synchronousRun(handler: Handler = scriptedHandler()) {
  const home = await newHome();
  const server = await newServer(handler);
  const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
  const options: PipelineOptions = { codexHome: home, model, phase: '1', retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 } };
  const result = await runPipeline(options);
  const status = await createLowdbStore({ dir: `${home}/memories_state` }).status();
  return { home, result, status, server };
}

describe('batch mode: submit', () => {
  it('claims, uploads one JSONL file and creates a batch, holding the jobs for the batch window', async () => {
    const t = await setup();
    const before = Math.floor(Date.now() / 1000);
    const summary = await runBatchPhase1(t.deps(), t.api);

    expect(summary.collected.batches).toEqual([]);
    expect(summary.claimed).toBe(INTERACTIVE);
    expect(summary.submitted.submitted).toBe(INTERACTIVE);
    expect(summary.submitted.batches).toHaveLength(1);
    expect(summary.submitted.error).toBeNull();

    // The server got one file and one batch, and no direct model call.
    expect(t.server.requests.map((r) => r.path)).toEqual(['/v1/files', '/v1/batches']);
    expect(t.server.requests[0]!.body).toMatchObject({ purpose: 'batch' });
    expect(t.server.requests[1]!.body).toMatchObject({ endpoint: '/v1/responses', completion_window: '24h' });
    const batch = t.server.batches.latest()!;
    expect(batch.id).toBe(summary.submitted.batches[0]!.batchId);
    expect(batch.status).toBe('in_progress');
    expect(batch.request_counts.total).toBe(INTERACTIVE);

    // No stage-1 output yet; every job is running under a lease that covers the batch window.
    const status = await t.store().status();
    expect(status.outputs).toEqual([]);
    expect(status.jobs).toHaveLength(INTERACTIVE);
    for (const job of status.jobs) {
      expect(job.status).toBe('running');
      expect(job.leaseUntil).toBeGreaterThanOrEqual(before + BATCH_LEASE_SECONDS);
    }
    expect(status.batches).toHaveLength(1);
    const record = status.batches![0]!;
    expect(record.batchId).toBe(batch.id);
    const tokens = new Map(status.jobs.map((j) => [j.jobKey, j.ownershipToken]));
    for (const ref of record.jobs) {
      expect(ref.ownershipToken).toBe(tokens.get(ref.thread.threadId));
      expect(ref.thread.updatedAt).toBe(status.jobs.find((j) => j.jobKey === ref.thread.threadId)!.inputWatermark);
    }
  });

  it('sends each request with the same body as the synchronous Responses call', async () => {
    const t = await setup();
    await runBatchPhase1(t.deps(), t.api);
    const input = t.server.batches.files.get(t.server.batches.latest()!.input_file_id)!;
    const lines = input.content
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(INTERACTIVE);

    const sync = await synchronousRun();
    // The two runs use different homes, laid out at different moments: the rollout path in the
    // prompt (home, day folder, time stamp in the file name) is the only difference.
    const normalise = (body: unknown, home: string) =>
      JSON.parse(
        JSON.stringify(body)
          .replaceAll(home, '<HOME>')
          .replace(/sessions\/\d{4}\/\d\d\/\d\d\/rollout-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-/g, 'sessions/<DAY>/rollout-<STAMP>-'),
      );
    const syncBodies = sync.server.requests.filter((r) => r.path === '/v1/responses').map((r) => normalise(r.body, sync.home));
    expect(syncBodies).toHaveLength(INTERACTIVE);
    for (const line of lines) {
      expect(line).toMatchObject({ custom_id: expect.any(String), method: 'POST', url: '/v1/responses' });
      expect(line.body.text.format).toMatchObject({ type: 'json_schema', strict: true });
      const body = normalise(line.body, t.home);
      const twin = syncBodies.find((b) => b.input[0].content[0].text === body.input[0].content[0].text);
      expect(twin, line.custom_id).toBeDefined();
      const { stream: _stream, ...syncBody } = twin;
      expect(body).toEqual(syncBody);
    }
  });

  it('releases the jobs untouched when the upload fails, so the next run takes them at once', async () => {
    const t = await setup();
    const broken: BatchApi = {
      ...t.api,
      uploadBatchFile: async () => Promise.reject(new Error('upload refused (sk-proj-abcdefghijklmnopqrstuvwxyz0123456789)')),
    };
    const summary = await runBatchPhase1(t.deps(), broken);
    expect(summary.submitted.submitted).toBe(0);
    expect(summary.submitted.released).toHaveLength(INTERACTIVE);
    expect(summary.submitted.error).toMatch(/batch submission failed: upload refused/);
    expect(summary.submitted.error).not.toContain('sk-proj-');
    const status = await t.store().status();
    expect(status.batches).toEqual([]);
    for (const job of status.jobs) {
      expect(job.status).toBe('pending');
      expect(job.retryRemaining).toBe(3);
    }
    const again = await runBatchPhase1(t.deps(), t.api);
    expect(again.claimed).toBe(INTERACTIVE);
    expect(again.submitted.submitted).toBe(INTERACTIVE);
  });
});

describe('batch mode: collect', () => {
  it('leaves a running batch alone and claims nothing new for its threads', async () => {
    const t = await setup();
    await runBatchPhase1(t.deps(), t.api);
    const second = await runBatchPhase1(t.deps(), t.api);
    expect(second.collected.pending).toBe(1);
    expect(second.collected.batches[0]).toMatchObject({ outcome: 'pending', status: 'in_progress' });
    expect(second.collected.jobs).toEqual([]);
    expect(second.claimed).toBe(0);
    expect(second.skipped.running).toBe(INTERACTIVE);
    expect(second.submitted.batches).toEqual([]);
    expect(t.server.batches.list()).toHaveLength(1);
    expect((await t.store().status()).outputs).toEqual([]);

    // Other transitional states are left alone the same way.
    for (const state of ['validating', 'finalizing', 'cancelling'] as const) {
      t.server.batches.setStatus(t.server.batches.latest()!.id, state);
      const run = await collectBatches(t.deps(), t.api);
      expect(run.batches[0]).toMatchObject({ outcome: 'pending', status: state });
      expect(run.jobs).toEqual([]);
    }
  });

  it('collects every output exactly once after the batch completed, with no direct model call', async () => {
    const t = await setup();
    await runBatchPhase1(t.deps(), t.api);
    await t.server.batches.complete(t.server.batches.latest()!.id);

    const third = await runBatchPhase1(t.deps(), t.api);
    const c = third.collected;
    expect(c.batches[0]).toMatchObject({ outcome: 'collected', status: 'completed' });
    expect(c.succeeded + c.succeededNoOutput).toBe(INTERACTIVE);
    expect(c.failed).toBe(0);
    expect(c.usage.total).toBeGreaterThan(0);
    // Collected before claiming: the same run finds everything up to date.
    expect(third.claimed).toBe(0);
    expect(third.skipped.upToDate).toBe(INTERACTIVE);
    expect(t.modelCalls()).toBe(0);
    expect(formatBatchPhase1(third).join('\n')).toMatch(
      /collected 5 succeeded .* 0 failed from 1 batch\(es\); 0 batch\(es\) still running/,
    );

    const status = await t.store().status();
    const sync = await synchronousRun();
    expect(status.outputs.length).toBe(sync.status.outputs.length);
    expect(status.outputs.length).toBe(c.succeeded);
    expect(status.batches).toEqual([]);
    for (const job of status.jobs) {
      expect(job.status).toBe('done');
      expect(job.usage?.total).toBeGreaterThan(0);
    }
    for (const output of status.outputs) expect(output.rawMemory).toMatch(/^---\n/);
    // Consolidation is dirty, as after a synchronous extraction.
    expect(status.globalJob?.inputWatermark).toBeGreaterThan(status.globalJob?.lastSuccessWatermark ?? 0);

    const again = await collectBatches(t.deps(), t.api);
    expect(again.batches).toEqual([]);
    expect((await t.store().status()).outputs).toEqual(status.outputs);
  });

  it('turns error lines and malformed replies into failed jobs with clear reasons, without blocking the others', async () => {
    const t = await setup();
    await runBatchPhase1(t.deps(), t.api);
    const before = Math.floor(Date.now() / 1000);
    await t.server.batches.complete(t.server.batches.latest()!.id, {
      reply: ({ line }) =>
        [
          { status: 500, body: { error: { message: 'upstream overloaded', type: 'server_error' } } },
          { lineError: { code: 'model_not_found', message: 'The model does not exist' } },
          { text: 'Sure! Here is the memory you asked for.' },
          { raw: 'this line is {not json' },
          undefined, // the scripted model answers
        ][line],
    });
    const run = await collectBatches(t.deps(), t.api);
    expect(run.succeeded + run.succeededNoOutput).toBe(1);
    expect(run.failed).toBe(4);

    const { jobs, batches } = await t.store().status();
    expect(batches).toEqual([]);
    const reasons = jobs.filter((j) => j.status === 'error').map((j) => j.lastError ?? '');
    expect(reasons).toHaveLength(4);
    expect(reasons).toContainEqual(expect.stringMatching(/batch request failed \(HTTP 500\): upstream overloaded/));
    expect(reasons).toContainEqual(expect.stringMatching(/batch request failed: model_not_found: The model does not exist/));
    expect(reasons).toContainEqual(expect.stringMatching(/not valid JSON/));
    expect(reasons).toContainEqual(
      expect.stringMatching(/completed without a result for this request \(1 result line\(s\) could not be read\)/),
    );
    for (const job of jobs.filter((j) => j.status === 'error')) {
      expect(job.retryRemaining).toBe(2);
      expect(job.retryAt).toBeGreaterThanOrEqual(before + 3_600);
    }
    // Durable retry as usual: the next run is in backoff for them.
    const next = await runBatchPhase1(t.deps(), t.api);
    expect(next.claimed).toBe(0);
    expect(next.skipped.retryBackoff).toBe(4);
  });

  it('fails the jobs of an expired, failed or cancelled batch with the batch status as reason, keeping partial results', async () => {
    const t = await setup();
    await runBatchPhase1(t.deps(), t.api);
    await t.server.batches.expire(t.server.batches.latest()!.id);
    const expired = await collectBatches(t.deps(), t.api);
    expect(expired.batches[0]).toMatchObject({ outcome: 'collected', status: 'expired' });
    expect(expired.failed).toBe(INTERACTIVE);
    for (const job of (await t.store().status()).jobs) {
      expect(job.status).toBe('error');
      expect(job.lastError).toMatch(/^batch batch_\w+ expired before this request ran$/);
    }

    const u = await setup();
    await runBatchPhase1(u.deps(), u.api);
    u.server.batches.fail(u.server.batches.latest()!.id, [
      { code: 'token_limit_exceeded', message: 'Enqueued token limit reached' },
    ]);
    const failed = await collectBatches(u.deps(), u.api);
    expect(failed.failed).toBe(INTERACTIVE);
    for (const job of (await u.store().status()).jobs) {
      expect(job.lastError).toMatch(/^batch batch_\w+ failed: token_limit_exceeded: Enqueued token limit reached$/);
    }

    const v = await setup();
    await runBatchPhase1(v.deps(), v.api);
    await v.server.batches.cancel(v.server.batches.latest()!.id, { partial: 2 });
    const cancelled = await collectBatches(v.deps(), v.api);
    expect(cancelled.succeeded + cancelled.succeededNoOutput).toBe(2);
    expect(cancelled.failed).toBe(INTERACTIVE - 2);
    const errors = (await v.store().status()).jobs.filter((j) => j.status === 'error');
    for (const job of errors) expect(job.lastError).toMatch(/was cancelled before this request ran/);
  });

  it('keeps a batch the provider does not know (another endpoint or account) and its jobs, for the right endpoint', async () => {
    const t = await setup();
    await runBatchPhase1(t.deps(), t.api);
    const before = (await t.store().status()).jobs;
    const elsewhere = await newServer();
    const collected = await collectBatches(t.deps(), createBatchApi({ apiKey: 'test', baseURL: elsewhere.url }));
    expect(collected.batches[0]).toMatchObject({
      outcome: 'error',
      detail: expect.stringMatching(
        /^batch batch_\w+ is unknown to the provider \(another endpoint or account\?\); kept for a run with the --base-url and key it was submitted with$/,
      ),
    });
    expect(collected.jobs).toEqual([]);
    expect((await t.store().status()).jobs).toEqual(before);
    expect((await t.store().status()).batches).toHaveLength(1);
    // Asked where it was submitted, the batch is collected as usual.
    await t.server.batches.complete(t.server.batches.latest()!.id);
    const right = await collectBatches(t.deps(), t.api);
    expect(right.succeeded + right.succeededNoOutput).toBe(INTERACTIVE);
  });

  it('never lets a secret from a batch reply or error line reach the disk', async () => {
    const secrets = [
      'sk-proj-abcdefghijklmnopqrstuvwxyz0123456789',
      'AKIAABCDEFGHIJKLMNOP',
      'ghp_abcdefghijklmnopqrstuvwxyz0123456789',
      'xoxb-1234567890-abcdefghijkl',
    ];
    const t = await setup(() => ({
      text: JSON.stringify({
        rollout_summary: `Deployed with token ${secrets[2]} and key ${secrets[0]}`,
        rollout_slug: `deploy ${secrets[3]}`,
        raw_memory: `---\ndescription: deploy\n---\n- the AWS key is ${secrets[1]}; password=hunter2hunter2`,
      }),
    }));
    await runBatchPhase1(t.deps(), t.api);
    await t.server.batches.complete(t.server.batches.latest()!.id, {
      reply: ({ line }) =>
        line === 0
          ? { status: 400, body: { error: { message: `invalid key ${secrets[0]}`, type: 'invalid_request_error' } } }
          : line === 1
            ? { text: `not json but a secret ${secrets[2]}` }
            : undefined,
    });
    const run = await collectBatches(t.deps(), t.api);
    expect(run.succeeded).toBe(INTERACTIVE - 2);
    expect(run.failed).toBe(2);
    for (const job of run.jobs) expect(job.reason ?? '').not.toMatch(/sk-proj-|ghp_/);
    for (const [path, text] of await readAllFiles(t.home)) {
      if (path.includes('/sessions/')) continue;
      for (const secret of [...secrets, 'hunter2hunter2']) expect(text, path).not.toContain(secret);
    }
  });

  it('never writes a late batch answer over a job that was claimed again after its lease ran out', async () => {
    const t = await setup();
    let offsetMs = 0;
    const now = () => Date.now() + offsetMs;
    await runBatchPhase1(t.deps({ now }), t.api);
    // Nobody collected for longer than the lease: another (synchronous) worker takes the jobs over.
    offsetMs = (BATCH_LEASE_SECONDS + 60) * 1000;
    const model = createModelClient({ apiKey: 'test', baseURL: t.server.url, wireApi: 'responses' });
    const sync = await runPipeline({ codexHome: t.home, model, phase: '1', store: t.store(now), now });
    expect(sync.phase1!.claimed).toBe(INTERACTIVE);
    const written = (await t.store(now).status()).outputs;

    await t.server.batches.complete(t.server.batches.latest()!.id, {
      reply: () => ({ text: JSON.stringify({ rollout_summary: 'LATE', rollout_slug: null, raw_memory: 'LATE' }) }),
    });
    const late = await collectBatches(t.deps({ now }), t.api);
    expect(late.batches[0]).toMatchObject({ outcome: 'abandoned' });
    expect(late.succeeded).toBe(0);
    const status = await t.store(now).status();
    expect(status.outputs).toEqual(written);
    expect(status.outputs.some((o) => o.rawMemory === 'LATE')).toBe(false);
    expect(status.batches).toEqual([]);
  });

  it('redoes a collect that stopped half-way without writing any job twice', async () => {
    const t = await setup();
    const deps = t.deps();
    await runBatchPhase1(deps, t.api);
    await t.server.batches.complete(t.server.batches.latest()!.id);
    // A collect that finalised one job and crashed before the rest (and before dropping the record).
    const [record] = await t.store().pendingBatches();
    const first = record!.jobs[0]!;
    expect(await t.store().markStage1SucceededNoOutput(first.thread.threadId, first.ownershipToken, null)).toBe(true);

    const redo = await collectBatches(deps, t.api);
    expect(redo.stale).toBe(1);
    expect(redo.succeeded + redo.succeededNoOutput).toBe(INTERACTIVE - 1);
    const status = await t.store().status();
    expect(status.batches).toEqual([]);
    expect(status.outputs.some((o) => o.threadId === first.thread.threadId)).toBe(false);
  });

  it('does not let jobs held by a batch count against the running cap of later runs', async () => {
    const t = await setup();
    const config = { maxRolloutsPerStartup: 2 };
    const runs = [];
    for (let i = 0; i < 3; i++) runs.push(await runBatchPhase1(t.deps({ config }), t.api));
    expect(runs.map((r) => r.submitted.submitted)).toEqual([2, 2, 1]);
    expect(t.server.batches.list()).toHaveLength(3);
    for (const batch of t.server.batches.list()) await t.server.batches.complete(batch.id);
    const collected = await collectBatches(t.deps({ config }), t.api);
    expect(collected.batches.map((b) => b.outcome)).toEqual(['collected', 'collected', 'collected']);
    expect(collected.succeeded + collected.succeededNoOutput).toBe(INTERACTIVE);
    expect(t.modelCalls()).toBe(0);
  });

  it('keeps a batch whose results cannot be downloaded for the next run', async () => {
    const t = await setup();
    await runBatchPhase1(t.deps(), t.api);
    await t.server.batches.complete(t.server.batches.latest()!.id);
    const flaky: BatchApi = { ...t.api, fileContent: async () => Promise.reject(new Error('connection reset')) };
    const first = await collectBatches(t.deps(), flaky);
    expect(first.batches[0]).toMatchObject({ outcome: 'error', status: 'completed' });
    expect(first.jobs).toEqual([]);
    expect((await t.store().status()).batches).toHaveLength(1);
    const second = await collectBatches(t.deps(), t.api);
    expect(second.succeeded + second.succeededNoOutput).toBe(INTERACTIVE);
  });

  it('submits claims a host made itself (submitBatch on its own), and fails a job whose rollout cannot be read', async () => {
    const t = await setup();
    const deps = t.deps();
    expect(await submitBatch(deps, t.api, [])).toMatchObject({ submitted: 0, batches: [] });
    expect(t.server.requests).toEqual([]);

    const thread = (updatedAt: number, id: string, rolloutPath: string) => ({
      threadId: id,
      rolloutPath,
      cwd: '/w',
      source: 'cli',
      updatedAt,
      createdAt: null,
      hasUserMessage: true,
      sizeBytes: 1,
    });
    const gone = thread(1_000, '00000000-0000-4000-8000-000000000001', `${t.home}/sessions/missing.jsonl`);
    const { claims } = await deps.store.claimStage1Jobs({
      candidates: [gone],
      workerId: 'host',
      maxClaimed: 4,
      leaseSeconds: 600,
    });
    const result = await submitBatch(deps, t.api, claims);
    expect(result.submitted).toBe(0);
    expect(result.failed).toEqual([
      { threadId: gone.threadId, reason: expect.stringMatching(/could not build the stage-1 request/) },
    ]);
    expect(t.server.requests).toEqual([]);
    const job = (await t.store().status()).jobs[0]!;
    expect(job).toMatchObject({ status: 'error', retryRemaining: 2 });
  });
});

describe('the local server Batch API', () => {
  it('fails a batch whose input file does not validate, with the line and reason', async () => {
    const server = await newServer();
    const api = createBatchApi({ apiKey: 'test', baseURL: server.url });
    const good = JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/responses', body: { model: 'm', input: 'hi' } });
    const wrongUrl = JSON.stringify({
      custom_id: 'b',
      method: 'POST',
      url: '/v1/chat/completions',
      body: { model: 'm', input: 'hi' },
    });
    const file = await api.uploadBatchFile(`${good}\n${wrongUrl}\nnot json\n`, 'bad.jsonl');
    const batch = await api.createBatch(file);
    expect(batch.status).toBe('failed');
    expect(batch.errors).toEqual([
      expect.stringMatching(/^invalid_request: 'url' \/v1\/chat\/completions does not match .* \(line 2\)$/),
      'invalid_request: line is not valid JSON (line 3)',
    ]);
    expect((await api.retrieveBatch(batch.id)).status).toBe('failed');
    await expect(api.retrieveBatch('batch_nope')).rejects.toThrow(/404/);
    await expect(api.fileContent('file-nope')).rejects.toThrow(/404/);
  });

  it('answers batch lines through the handler and serves the output file', async () => {
    const server = await startLocalOpenAIServer({
      handler: () => ({ text: 'hello', usage: { input: 3, output: 1 } }),
      autoCompleteBatches: true,
    });
    servers.push(server);
    const api = createBatchApi({ apiKey: 'test', baseURL: server.url });
    const line = JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/responses', body: { model: 'm', input: 'hi' } });
    const batch = await api.createBatch(await api.uploadBatchFile(`${line}\n`, 'one.jsonl'));
    expect(batch.status).toBe('completed');
    expect(batch.requestCounts).toEqual({ total: 1, completed: 1, failed: 0 });
    const [result] = (await api.fileContent(batch.outputFileId!))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(result).toMatchObject({
      custom_id: 'a',
      error: null,
      response: { status_code: 200, body: { object: 'response', status: 'completed' } },
    });
    expect(result.response.body.output[0].content[0].text).toBe('hello');
    expect(result.response.body.usage).toMatchObject({ input_tokens: 3, output_tokens: 1, total_tokens: 4 });
    expect(batch.errorFileId).toBeNull();
  });
});

describe('memories run --batch (the CLI)', () => {
  it('submits on the first run and collects on the next, then consolidates', async () => {
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const exec = promisify(execFile);
    const bin = join(import.meta.dirname, '..', 'scripts', 'memories.js');
    const server = await startLocalOpenAIServer({ handler: scriptedHandler() });
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      const env = { ...process.env, OPENAI_API_KEY: 'test' };
      const run = async () =>
        JSON.parse(
          (
            await exec(process.execPath, [bin, 'run', '--codex-home', home, '--base-url', server.url, '--batch', '--json'], {
              env,
            })
          ).stdout,
        );
      const first = await run();
      expect(first.batch.submitted.submitted).toBe(5);
      expect(first.phase2.status).toBe('skippedNotDirty');
      server.batches.complete(server.batches.latest()!.id);
      const second = await run();
      expect(second.batch.collected.succeeded + second.batch.collected.succeededNoOutput).toBe(5);
      expect(second.phase2.status).toBe('succeeded');
      expect(server.requests.filter((r) => r.path.endsWith('/responses') && !r.body.tools)).toHaveLength(0);
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it('keeps a running batch when collected with another --base-url: one line, exit 1, collected later', async () => {
    const server = await startLocalOpenAIServer({ handler: scriptedHandler() });
    const elsewhere = await startLocalOpenAIServer({ handler: scriptedHandler() });
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      const run = (url: string) =>
        memories(['run', '--codex-home', home, '--base-url', url, '--batch', '--phase', '1'], { OPENAI_API_KEY: 'test' });
      expect((await run(server.url)).code).toBe(0);
      const wrong = await run(elsewhere.url);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(
        /^memories: batch batch_\w+ not collected: batch batch_\w+ is unknown to the provider \(another endpoint or account\?\); kept for a run with the --base-url and key it was submitted with\n$/,
      );
      await server.batches.complete(server.batches.latest()!.id);
      const right = await memories(['run', '--codex-home', home, '--base-url', server.url, '--batch', '--json'], {
        OPENAI_API_KEY: 'test',
      });
      expect(right.code, right.stderr).toBe(0);
      const collected = JSON.parse(right.stdout).batch.collected;
      expect(collected.succeeded + collected.succeededNoOutput).toBe(INTERACTIVE);
    } finally {
      await server.close();
      await elsewhere.close();
      await cleanup();
    }
  });

  it('reports the jobs of an expired batch as failures: on stderr, in --json, and with exit status 1', async () => {
    const server = await startLocalOpenAIServer({ handler: scriptedHandler() });
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      const run = (...extra: string[]) =>
        memories(['run', '--codex-home', home, '--base-url', server.url, '--batch', ...extra], { OPENAI_API_KEY: 'test' });
      expect((await run('--phase', '1')).code).toBe(0);
      await server.batches.expire(server.batches.latest()!.id);
      const { code, stdout, stderr } = await run('--phase', '1', '--json');
      expect(code).toBe(1);
      const lines = stderr.trim().split('\n');
      expect(lines).toHaveLength(INTERACTIVE);
      for (const line of lines)
        expect(line).toMatch(/^memories: \S+ failed \(batch\): batch batch_\w+ expired before this request ran$/);
      const summary = JSON.parse(stdout);
      expect(summary.failures).toHaveLength(INTERACTIVE);
      expect(summary.jobs).toEqual(
        Array.from({ length: INTERACTIVE }, () =>
          expect.objectContaining({ outcome: 'gaveUp', attempts: 1, reason: expect.stringMatching(/expired/) }),
        ),
      );
    } finally {
      await server.close();
      await cleanup();
    }
  });
});
