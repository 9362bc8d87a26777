// The memory folder's history on a real repository in a temporary home: a baseline after each success, none after a
// failure (the folder back as the person left it), and the agent shown what changed since the baseline.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Handler, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { openRepo } from '../services/memory-history/repo.ts';
import { readRevisions } from '../services/memory-history/revisions.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { type PipelineOptions, runPipeline } from '../services/pipeline.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { isAgentRequest, toolOutputs } from './support/agent-requests.ts';
import { tempCodexHome } from './support/codex-home.ts';

const GIT = '/usr/bin/git';
let home: string;
let root: string;
let cleanup: () => Promise<void>;
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>> | null = null;
let handler: Handler = scriptedHandler();

beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
  root = join(home, 'memories');
  handler = scriptedHandler();
  server = await startLocalOpenAIServer({ handler: (req) => handler(req) });
});
afterEach(async () => {
  await server?.close();
  await cleanup();
});

function run(extra: Partial<PipelineOptions> = {}) {
  const model = createModelClient({ apiKey: 'test', baseURL: server!.url, wireApi: 'responses' });
  return runPipeline({ codexHome: home, model, retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 }, ...extra });
}

const store = () => createLowdbStore({ dir: join(home, 'memories_state') });
const revisions = async () => readRevisions(await openRepo(root));
const markDirty = () => store().enqueueGlobalConsolidation(1);

/** The first request of each agent run, as sent: the prompt is in it. */
function capturePrompts(): string[] {
  const prompts: string[] = [];
  handler = (req) => {
    if (isAgentRequest(req.body) && toolOutputs(req.body).length === 0) prompts.push(JSON.stringify(req.body));
    return scriptedHandler()(req);
  };
  return prompts;
}

/** Every file of the folder but the repository itself, with its text. */
async function folderFiles(): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name).slice(root.length + 1);
    if (entry.isFile() && !path.startsWith('.git/')) files[path] = await readFile(join(root, path), 'utf8');
  }
  return files;
}

describe('memory folder history', () => {
  it('commits a baseline after a successful consolidation, with its inputs and MEMORY.md size', async () => {
    await installFixtureRollouts(home);
    const result = await run();
    expect(result.phase2?.status).toBe('succeeded');
    const history = await revisions();
    expect(history).toHaveLength(1);
    const memoryBytes = Buffer.byteLength(await readFile(join(root, 'MEMORY.md')));
    expect(history[0]).toMatchObject({
      id: result.phase2!.revision,
      kind: 'consolidation',
      added: 5,
      retained: 0,
      removed: 0,
      memoryBytes,
    });
  });

  it.skipIf(!existsSync(GIT))(
    'leaves a history plain git reads: git log shows the baseline and git status is clean',
    async () => {
      await installFixtureRollouts(home);
      await run();
      const git = (...args: string[]) => promisify(execFile)(GIT, ['-C', root, ...args]).then((r) => r.stdout);
      const log = await git('log', '--format=%H %s%n%b');
      expect(log).toContain('Consolidate memory');
      expect(log).toContain('Memories-Added: 5');
      expect((await git('rev-parse', 'HEAD')).trim()).toBe((await revisions())[0]!.id);
      expect(await git('status', '--porcelain')).toBe('');
      expect(await git('fsck', '--strict', '--no-dangling')).toBe('');
    },
  );

  it('refuses to consolidate over a damaged history instead of starting a new one on top of it', async () => {
    await installFixtureRollouts(home);
    expect((await run()).phase2?.status).toBe('succeeded');
    const [first] = await readRevisions(await openRepo(root));
    await writeFile(join(root, '.git', 'refs', 'heads', 'main'), ''); // emptied, as a crash or a tool can leave it
    await installFixtureRollouts(home, { count: 9 });

    const phase2 = (await run({ retryPolicy: { maxAttempts: 1 } })).phase2!;
    expect(phase2.status).toBe('failed');
    expect(phase2.reason).toMatch(/the memory folder's history is damaged: .*refs\/heads\/main holds no revision/);
    // Nothing was committed over it: the old revision is still the one the repair will find.
    await writeFile(join(root, '.git', 'refs', 'heads', 'main'), `${first!.id}\n`);
    expect((await readRevisions(await openRepo(root))).map((r) => r.id)).toEqual([first!.id]);
  });

  it('tells the agent INIT on the first run, then INCREMENTAL with a hand edit made since the baseline', async () => {
    await installFixtureRollouts(home);
    const prompts = capturePrompts();
    await run();
    expect(prompts[0]).toContain('This run is in **INIT** mode');
    expect(prompts[0]).toContain('Last baseline: none (this is the first consolidation)');

    await appendFile(join(root, 'MEMORY.md'), '\n- The staging database is db-stage-7 (hand-corrected)\n');
    await markDirty();
    const second = await run({ phase: '2' });
    expect(second.phase2?.status).toBe('succeeded');
    expect(prompts).toHaveLength(2);
    expect(prompts[1]).toContain('This run is in **INCREMENTAL** mode');
    expect(prompts[1]).toContain(`Last baseline: revision ${(await revisions())[1]!.id.slice(0, 12)}`);
    expect(prompts[1]).toContain('- modified: MEMORY.md');
    expect(prompts[1]).toContain('+- The staging database is db-stage-7 (hand-corrected)');
    expect(await revisions()).toHaveLength(2);
  });

  it('commits nothing after a failed consolidation and puts back the baseline plus the hand edits', async () => {
    await installFixtureRollouts(home);
    await run();
    await appendFile(join(root, 'MEMORY.md'), '\n- hand edit kept through a failure\n');
    await writeFile(join(root, 'my-notes.md'), 'a file the person added\n');
    const before = await folderFiles();
    await markDirty();
    handler = (req) => {
      if (!isAgentRequest(req.body)) return scriptedHandler()(req);
      if (toolOutputs(req.body).length > 0) return { text: 'done' };
      const write = (path: string, content: string) => ({ name: 'write_file', arguments: JSON.stringify({ path, content }) });
      // memory_summary.md without its first line `v1` fails validation after the agent changed three files.
      return { toolCalls: [write('MEMORY.md', '# junk\n'), write('junk.md', 'junk\n'), write('memory_summary.md', 'no\n')] };
    };
    const result = await run({ phase: '2' });
    expect(result.phase2?.status).toBe('failed');
    expect(result.phase2?.revision).toBeNull();
    expect(await revisions()).toHaveLength(1);
    expect(await folderFiles()).toEqual(before);
  });

  it('puts the folder back between attempts: a retried run commits one baseline with nothing of the failed attempt', async () => {
    await installFixtureRollouts(home);
    let agentRequests = 0;
    handler = (req) => {
      if (!isAgentRequest(req.body)) return scriptedHandler()(req);
      agentRequests += 1;
      // Attempt 1 writes a file, then the model fails with a retryable 503; attempt 2 is the scripted agent.
      if (agentRequests === 1) {
        return { toolCalls: [{ name: 'write_file', arguments: JSON.stringify({ path: 'half-done.md', content: 'x\n' }) }] };
      }
      if (agentRequests === 2) return { status: 503, body: { error: { message: 'overloaded' } } };
      return scriptedHandler()(req);
    };
    const result = await run();
    expect(result.phase2).toMatchObject({ status: 'succeeded', attempts: 2 });
    expect(existsSync(join(root, 'half-done.md'))).toBe(false);
    expect(await revisions()).toHaveLength(1);
  });

  it('gives the v2 folder (memories_v2/) the same history and shows the agent a hand edit to memory_summary.md', async () => {
    await installFixtureRollouts(home);
    root = join(home, 'memories_v2');
    const prompts = capturePrompts();
    expect((await run({ config: { version: 'v2' } })).phase2?.status).toBe('succeeded');
    expect(await revisions()).toMatchObject([{ kind: 'consolidation', added: 5, memoryBytes: null }]);
    await appendFile(join(root, 'memory_summary.md'), '- hand edit: the user prefers pnpm\n');
    await createLowdbStore({ dir: join(home, 'memories_v2_state') }).enqueueGlobalConsolidation(1);
    expect((await run({ phase: '2', config: { version: 'v2' } })).phase2?.status).toBe('succeeded');
    expect(prompts[1]).toContain('This run is in **INCREMENTAL** mode');
    expect(prompts[1]).toContain('+- hand edit: the user prefers pnpm');
    expect(await revisions()).toHaveLength(2);
  });

  it('keeps .git out of the agent tools: listing hides it, reading and writing it are refused', async () => {
    await installFixtureRollouts(home);
    await run();
    const head = await readFile(join(root, '.git', 'HEAD'), 'utf8');
    await markDirty();
    const seen: string[] = [];
    handler = (req) => {
      if (!isAgentRequest(req.body)) return scriptedHandler()(req);
      const outputs = toolOutputs(req.body);
      if (outputs.length === 0) {
        const call = (name: string, args: object) => ({ name, arguments: JSON.stringify(args) });
        return {
          toolCalls: [
            call('list_dir', {}),
            call('read_file', { path: '.git/HEAD' }),
            call('write_file', { path: '.git/HEAD', content: 'ref: refs/heads/evil\n' }),
            call('delete_file', { path: '.GIT/config' }),
          ],
        };
      }
      seen.push(...outputs);
      return { text: 'done' };
    };
    expect((await run({ phase: '2' })).phase2?.status).toBe('succeeded');
    expect(seen[0]).toContain('MEMORY.md');
    expect(seen[0]).not.toContain('.git');
    for (const refused of seen.slice(1)) expect(refused).toMatch(/history folder \.git is not part of memory/);
    expect(await readFile(join(root, '.git', 'HEAD'), 'utf8')).toBe(head);
    expect(existsSync(join(root, '.git', 'config'))).toBe(true);
  });
});
