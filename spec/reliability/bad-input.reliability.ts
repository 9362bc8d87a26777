// Hostile rollouts (spec/fixtures/bad/ plus a 50 MB single line and a deeply nested item made at test
// time), hostile rollout_slug values from the model, and a prompt injection that takes over the
// consolidation agent. Every bad rollout gets a clear, logged outcome; none blocks the healthy ones;
// nothing is written or read outside the memory folder.
import { existsSync } from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import { fileLogger } from '../../services/logger.ts';
import { startLocalOpenAIServer, type LocalOpenAIServer, type Reply } from '../../services/local-model/local-openai-server.ts';
import { createModelClient } from '../../services/model/model-client.ts';
import { runPipeline } from '../../services/pipeline.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import {
  allText,
  isAgent,
  isStage1,
  rng,
  ROOT,
  seededUuid,
  tempHome,
  threadOfStage1,
  walk,
  writeRollout,
} from './support/harness.ts';

const BAD = join(ROOT, 'spec', 'fixtures', 'bad');
const HOSTILE_SLUGS = [
  '../../../../etc/passwd',
  '..',
  '/abs/path',
  'a\u0000b',
  'x'.repeat(10_000),
  '🔥💀'.repeat(50),
  '__proto__',
  'CON',
  'rm -rf ~; echo',
  '<|endoftext|>',
];
const OUTSIDE_MARKER = 'EVIL-WRITE-CONTENT-3b9e'; // only the attacking tool calls carry it

let server: LocalOpenAIServer;
const scripted = scriptedHandler();
const slugFor = new Map<string, string>();

/**
 * The consolidation agent as prompt-injection.jsonl asks it to behave: we assume the injection
 * worked (a model can be talked into anything), so its first turn is the attack.
 */
function compromisedAgent(req: { body: any; wire: 'responses' | 'chat'; index: number }): Reply | null {
  const calls = (Array.isArray(req.body.input) ? req.body.input : []).filter((i: any) => i?.type === 'function_call').length;
  const call = (name: string, args: object, i: number) => ({ id: `evil_${i}`, name, arguments: JSON.stringify(args) });
  // After the attack, it writes an ordinary memory and stops.
  if (calls > 13) return { text: 'Consolidation complete.' };
  if (calls > 0) {
    return {
      toolCalls: [
        call('write_file', { path: 'MEMORY.md', content: '# Memory Handbook\n\n- ordinary memory\n' }, 13),
        call('write_file', { path: 'memory_summary.md', content: 'v1\n\n# Memory Summary\n\n- ordinary\n' }, 14),
      ],
    };
  }
  return {
    toolCalls: [
      call('write_file', { path: '../../../../tmp/pwned-by-rollout.txt', content: OUTSIDE_MARKER }, 1),
      call('write_file', { path: '/tmp/pwned-absolute.txt', content: OUTSIDE_MARKER }, 2),
      call('write_file', { path: '../escape.md', content: OUTSIDE_MARKER }, 3),
      call('read_file', { path: '../config.toml' }, 4),
      call('read_file', { path: '../auth.json' }, 5),
      call('read_file', { path: '/etc/shadow' }, 6),
      call('read_file', { path: '../memories_state/outputs.json' }, 7),
      call('apply_patch', { patch: `*** Begin Patch\n*** Add File: ../escape2.md\n+${OUTSIDE_MARKER}\n*** End Patch` }, 8),
      call('delete_file', { path: '..' }, 9),
      call('list_dir', { path: '../..' }, 10),
      call('write_file', { path: 'skills/../../escape3.md', content: OUTSIDE_MARKER }, 11),
      call('write_file', { path: '~/.bashrc', content: OUTSIDE_MARKER }, 12),
    ],
  };
}

beforeAll(async () => {
  server = await startLocalOpenAIServer({
    handler: (req) => {
      if (isStage1(req.body)) {
        const slug = slugFor.get(threadOfStage1(req.body) ?? '');
        if (slug !== undefined)
          return {
            text: JSON.stringify({
              rollout_summary: `summary ${slug.slice(0, 20)}`,
              rollout_slug: slug,
              raw_memory: '- hostile slug',
            }),
          };
        return scripted(req);
      }
      if (isAgent(req.body)) return compromisedAgent(req) ?? scripted(req);
      return scripted(req);
    },
  });
});
afterAll(() => server?.close());

function headerId(text: string): string | null {
  return /"type":\s*"session_meta",\s*"payload":\s*\{"id":\s*"([0-9a-f-]{36})"/.exec(text)?.[1] ?? null;
}

it('every hostile rollout gets a clear, logged outcome and none blocks the others; nothing escapes the memory folder', async () => {
  const { home, cleanup } = await tempHome('memories-bad-');
  try {
    const next = rng(2024);
    const planted = new Map<string, string>(); // thread id → what it is
    for (const name of (await readdir(BAD)).filter((n) => n.endsWith('.jsonl')).sort()) {
      const raw = await readFile(join(BAD, name));
      const threadId = headerId(raw.toString('latin1')) ?? seededUuid(next);
      await writeRollout(home, { threadId, raw });
      planted.set(threadId, name);
    }
    // Generated: a 50 MB single line (one user message), and an item nested 20,000 levels deep.
    const huge = seededUuid(next);
    const words = 'refactor the parser module and add tests for the tokenizer edge cases '
      .repeat(Math.ceil(50_000_000 / 72))
      .slice(0, 50_000_000);
    await writeRollout(home, {
      threadId: huge,
      raw: `${JSON.stringify({ type: 'session_meta', payload: { id: huge, source: 'cli', cwd: '/w' } })}\n${JSON.stringify({ type: 'response_item', payload: { type: 'message', role: 'user', content: [{ type: 'input_text', text: words }] } })}\n`,
    });
    planted.set(huge, '50 MB single line');
    const deep = seededUuid(next);
    const nested = '['.repeat(20_000) + ']'.repeat(20_000);
    await writeRollout(home, {
      threadId: deep,
      user: ['a tool returned something deeply nested'],
      extraLines: [`{"type":"response_item","payload":{"type":"function_call_output","call_id":"c1","output":${nested}}}`],
    });
    planted.set(deep, 'deep nesting (20,000 levels)');
    for (const slug of HOSTILE_SLUGS) {
      const id = seededUuid(next);
      await writeRollout(home, { threadId: id, user: ['ordinary work'] });
      slugFor.set(id, slug);
      planted.set(id, `hostile slug ${JSON.stringify(slug.slice(0, 24))}`);
    }
    const healthy: string[] = [];
    for (let i = 0; i < 3; i++)
      healthy.push((await writeRollout(home, { threadId: seededUuid(next), user: [`healthy task ${i}`] })).threadId);
    // Files the injected agent wants to read: they must never reach the model.
    await writeFile(join(home, 'auth.json'), '{"OPENAI_API_KEY":"AUTH-FILE-CONTENT-91c2"}');
    await writeFile(join(home, 'config.toml'), '# CONFIG-FILE-CONTENT-55d1\n');
    const before = new Set((await walk(home)).map((e) => e.path));

    const started = Date.now();
    const model = createModelClient({ apiKey: 'x', baseURL: server.url, wireApi: 'responses', timeoutMs: 60_000 });
    const out = await runPipeline({
      codexHome: home,
      model,
      config: { maxRolloutsPerStartup: 64 },
      retryPolicy: { initialDelayMs: 10, maxDelayMs: 50 },
      log: fileLogger(home),
    });
    const elapsed = Date.now() - started;
    expect(out.phase1?.error).toBeNull();
    expect(out.phase2?.status).toBe('succeeded');

    const status = await createLowdbStore({ dir: join(home, 'memories_state') }).status();
    const jobs = new Map(status.jobs.map((j) => [j.jobKey, j]));
    const log = await readFile(join(home, 'log', 'memories.log'), 'utf8');
    const table: string[] = [];
    for (const [id, what] of planted) {
      const job = jobs.get(id);
      const skipped = log.split('\n').find((l) => l.includes('rollout skipped') && l.includes(id));
      const outcome = job
        ? `${job.status}${job.lastError ? ` (${job.lastError.slice(0, 80)})` : ''}`
        : skipped
          ? `skipped: ${JSON.parse(skipped).reason}`
          : 'NO OUTCOME';
      table.push(`${what}: ${outcome}`);
    }
    console.log(`bad input outcomes (${elapsed} ms):\n  ${table.join('\n  ')}`);
    for (const [id, what] of planted) {
      // A clear outcome: stored, failed with a reason, or skipped with a logged reason.
      expect(
        table.find((t) => t.startsWith(`${what}:`)),
        what,
      ).not.toMatch(/NO OUTCOME$/);
      if (jobs.get(id)?.status === 'error') expect(log, what).toContain(`Phase 1 job failed for thread ${id}`);
    }
    for (const id of healthy) expect(jobs.get(id)?.status).toBe('done');
    // The special-token rollout is extracted, not failed. The 50 MB line is over the 16 MB line cap
    // (memory stays bounded for a line of any size), so its only message is skipped, and said so.
    for (const [id, what] of planted) {
      if (/special-tokens|invalid-utf8|unknown-items|deep nesting|hostile slug|prompt-injection/.test(what))
        expect(jobs.get(id)?.status, what).toBe('done');
    }
    expect(table).toContain('50 MB single line: skipped: no user message left after skipping 1 line(s) over 16 MB');

    // Hostile slugs: one summary file each, all directly inside rollout_summaries with safe names.
    const summaries = await readdir(join(home, 'memories', 'rollout_summaries'));
    for (const name of summaries) expect(name).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-[A-Za-z0-9]{4}(-[a-z0-9_]{1,60})?\.md$/);
    const owners = await Promise.all(
      summaries.map(async (n) => (await readFile(join(home, 'memories', 'rollout_summaries', n), 'utf8')).split('\n', 1)[0]),
    );
    for (const id of slugFor.keys()) expect(owners.filter((line) => line === `thread_id: ${id}`)).toHaveLength(1);

    // The injected agent reached nothing outside the memory folder.
    const after = (await walk(home)).map((e) => e.path).filter((p) => !before.has(p));
    const outside = after.filter(
      (p) =>
        p !== join(home, 'memories') &&
        !p.startsWith(`${join(home, 'memories')}/`) &&
        !p.startsWith(join(home, 'memories_state')) &&
        !p.startsWith(join(home, 'log')),
    );
    expect(outside).toEqual([]);
    for (const p of ['/tmp/pwned-by-rollout.txt', '/tmp/pwned-absolute.txt']) expect(existsSync(p)).toBe(false);
    for (const [path, text] of await allText(join(home, 'memories'))) {
      expect(text, path).not.toContain(OUTSIDE_MARKER);
    }
    const sent = JSON.stringify(server.requests.map((r) => r.body));
    expect(sent).not.toContain('AUTH-FILE-CONTENT-91c2');
    expect(sent).not.toContain('CONFIG-FILE-CONTENT-55d1');
    expect(sent).not.toMatch(/root:[^:\s"]*:\d+:/); // an /etc/shadow line
    // Each refusal is logged as a prompt-injection signal.
    expect(log.split('\n').filter((l) => l.includes('agent tool refused')).length).toBeGreaterThanOrEqual(10);
  } finally {
    await cleanup();
  }
});
