// Every way the model server misbehaves, once (then it answers) and always: the job is retried and
// succeeds, or is recorded as failed with a reason that says what happened. Other rollouts are not
// affected and the coordinator always finishes.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import { fileLogger } from '../../services/logger.ts';
import { startLocalOpenAIServer, type LocalOpenAIServer, type Reply } from '../../services/local-model/local-openai-server.ts';
import { createModelClient, type ModelClient } from '../../services/model/model-client.ts';
import { runPipeline } from '../../services/pipeline.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import { isAgent, isStage1, rng, seededUuid, tempHome, threadOfStage1, writeRollout } from './support/harness.ts';

const GOOD = JSON.stringify({
  rollout_summary: 'User fixed the build.',
  rollout_slug: 'fix-build',
  raw_memory: '- fixed the build',
});
// The server shares this process's event loop and a loaded machine's CPU, and the 10 MB answers
// hold that loop for a while. Only the hang fault needs a timeout to fire: the other requests get
// one no load reaches, so a healthy reply held up behind a 10 MB answer is never cut off.
const HANG_TIMEOUT_MS = 1_000;
const TIMEOUT_MS = 300_000;
const HANG_MS = 60_000;
const HUGE = JSON.stringify({ rollout_summary: 'x'.repeat(10_000_000), rollout_slug: null, raw_memory: 'm' });

const FAULTS: Record<string, { reply: () => Reply; reason: RegExp }> = {
  'rate limited (429 + retry-after)': {
    reply: () => ({
      status: 429,
      headers: { 'retry-after': '0.08' },
      body: { error: { message: 'Rate limit reached for requests', type: 'requests' } },
    }),
    reason: /429 Too Many Requests.*Rate limit reached/,
  },
  'server error (500)': { reply: () => ({ status: 500 }), reason: /500 Internal Server Error/ },
  'hang past the timeout': { reply: () => ({ hangMs: HANG_MS }), reason: /timed out/ },
  'connection dropped mid-stream': {
    reply: () => ({ dropAfterBytes: 300, text: GOOD }),
    reason: /cut off|unreadable|ended before|terminated/,
  },
  'invalid JSON answer': { reply: () => ({ text: '{"rollout_summary": "half an obj' }), reason: /not valid JSON/ },
  'JSON missing a field': {
    reply: () => ({ text: JSON.stringify({ rollout_summary: 's', rollout_slug: null }) }),
    reason: /raw_memory/,
  },
  'answer in the wrong schema': {
    reply: () => ({ text: JSON.stringify({ summary: 's', memory: 'm', slug: null }) }),
    reason: /does not match the schema/,
  },
  '10 MB answer': { reply: () => ({ text: HUGE }), reason: /exceeded 2000000 characters/ },
  'not SSE at all': { reply: () => ({ raw: '<html>502 Bad Gateway</html>' }), reason: /ended before|cut off|unreadable/ },
};

let server: LocalOpenAIServer;
const scripted = scriptedHandler();
/** thread id → [fault name, 'once' | 'always'] */
const plan = new Map<string, [string, 'once' | 'always']>();
const seen = new Map<string, number[]>();
let agentFault: Reply | null = null;

beforeAll(async () => {
  server = await startLocalOpenAIServer({
    handler: (req) => {
      if (isStage1(req.body)) {
        const id = threadOfStage1(req.body)!;
        const times = seen.get(id) ?? [];
        times.push(Date.now());
        seen.set(id, times);
        const planned = plan.get(id);
        if (planned && (planned[1] === 'always' || times.length === 1)) return FAULTS[planned[0]]!.reply();
        return planned ? { text: GOOD } : scripted(req);
      }
      if (isAgent(req.body) && agentFault) return agentFault;
      return scripted(req);
    },
  });
});
afterAll(() => server?.close());

const client = (timeoutMs: number) => createModelClient({ apiKey: 'x', baseURL: server.url, wireApi: 'responses', timeoutMs });
/**
 * The short timeout for exactly the requests the server will hang (phase 1: a hang-planned thread's first request, or
 * every one when planned 'always'; phase 2: while set). A healthy retry keeps the long timeout: on a loaded machine,
 * held up behind the 10 MB answers, it could take longer than the short one and be cut off as if it had hung.
 */
function model(): ModelClient {
  const [short, long] = [client(HANG_TIMEOUT_MS), client(TIMEOUT_MS)];
  const asked = new Map<string, number>();
  const hangs = (input: string) =>
    [...plan].some(([id, [name, how]]) => {
      if (!name.startsWith('hang') || !input.includes(id)) return false;
      asked.set(id, (asked.get(id) ?? 0) + 1);
      return how === 'always' || asked.get(id) === 1;
    });
  return {
    extractStage1: (req) => (hangs(req.input) ? short : long).extractStage1(req),
    agentTurn: (req) => (agentFault && 'hangMs' in agentFault ? short : long).agentTurn(req),
  };
}
const retryPolicy = { initialDelayMs: 10, maxDelayMs: 200, maxAttempts: 3 };

describe('model server faults in phase 1', () => {
  it('each fault ends as a retried success (once) or a failed job with a clear reason (always)', async () => {
    const { home, cleanup } = await tempHome('memories-modelfault-');
    try {
      const next = rng(77);
      const healthy: string[] = [];
      for (const name of Object.keys(FAULTS)) {
        for (const how of ['once', 'always'] as const) {
          const { threadId } = await writeRollout(home, { threadId: seededUuid(next), user: [`rollout for ${name} ${how}`] });
          plan.set(threadId, [name, how]);
        }
      }
      for (let i = 0; i < 3; i++)
        healthy.push((await writeRollout(home, { threadId: seededUuid(next), user: [`healthy ${i}`] })).threadId);

      const out = await runPipeline({
        codexHome: home,
        model: model(),
        retryPolicy,
        config: { maxRolloutsPerStartup: 64 },
        log: fileLogger(home),
      });
      const faults = Object.keys(FAULTS).length;
      expect(out.phase1?.claimed).toBe(faults * 2 + 3);
      expect(out.phase1?.failed).toBe(faults);
      expect(out.phase2?.status).toBe('succeeded');

      const status = await createLowdbStore({ dir: join(home, 'memories_state') }).status();
      const jobs = new Map(status.jobs.map((j) => [j.jobKey, j]));
      const outputs = new Set(status.outputs.map((o) => o.threadId));
      const table: string[] = [];
      for (const [id, [name, how]] of plan) {
        const job = jobs.get(id)!;
        table.push(
          `${name} / ${how}: ${job.status}, ${seen.get(id)!.length} request(s)${job.lastError ? ` — ${job.lastError.slice(0, 90)}` : ''}`,
        );
        if (how === 'once') {
          expect(job.status, `${name} once`).toBe('done');
          expect(outputs.has(id)).toBe(true);
          expect(seen.get(id)).toHaveLength(2);
        } else {
          expect(job.status, `${name} always`).toBe('error');
          expect(job.lastError, name).toMatch(FAULTS[name]!.reason);
          // Retried in process for transient faults, then durably scheduled for a later run.
          expect(job.retryAt).toBeGreaterThan(job.finishedAt!);
          expect(job.retryRemaining).toBe(2);
          expect(outputs.has(id)).toBe(false);
        }
      }
      console.log(`model faults (phase 1):\n  ${table.join('\n  ')}`);
      for (const id of healthy) expect(jobs.get(id)?.status).toBe('done');

      // The server's retry-after (80 ms) was honoured over the 10 ms backoff.
      const rateLimited = [...plan].find(([, [name, how]]) => name.startsWith('rate') && how === 'once')![0];
      const [first, second] = seen.get(rateLimited)!;
      expect(second! - first!).toBeGreaterThanOrEqual(75);

      // Every failure is in the log with its reason, and the log stays small despite the 10 MB answers.
      const log = await readFile(join(home, 'log', 'memories.log'), 'utf8');
      expect(log.split('\n').filter((l) => l.includes('Phase 1 job failed'))).toHaveLength(faults);
      expect(log.length).toBeLessThan(200_000);
    } finally {
      plan.clear();
      await cleanup();
    }
  });
});

describe('model server faults in phase 2', () => {
  for (const [name, reply, reason] of [
    ['server error (500)', { status: 500 }, /failed_agent: .*500/],
    ['hang past the timeout', { hangMs: HANG_MS }, /failed_agent: .*timed out/],
    ['connection dropped mid-stream', { dropAfterBytes: 200, text: 'Consolidation complete.' }, /failed_agent: /],
    ['not SSE at all', { raw: 'garbage' }, /failed_agent: /],
  ] as const) {
    it(`${name} during consolidation fails the global job with a reason; the next run retries it`, async () => {
      const { home, cleanup } = await tempHome('memories-agentfault-');
      try {
        await writeRollout(home, { user: ['consolidate me'] });
        agentFault = reply as Reply;
        const out = await runPipeline({ codexHome: home, model: model(), retryPolicy, log: fileLogger(home) });
        expect(out.phase1?.succeeded).toBe(1);
        expect(out.phase2?.status).toBe('failed');
        expect(out.phase2?.reason).toMatch(reason);
        const { globalJob } = await createLowdbStore({ dir: join(home, 'memories_state') }).status();
        expect(globalJob?.status).toBe('error');
        expect(globalJob?.lastError).toMatch(reason);

        // Once the server is healthy and the retry delay has passed, consolidation succeeds.
        agentFault = null;
        const later = await runPipeline({ codexHome: home, model: model(), now: () => Date.now() + 2 * 3_600_000 });
        expect(later.phase2?.status).toBe('succeeded');
      } finally {
        agentFault = null;
        await cleanup();
      }
    });
  }
});
