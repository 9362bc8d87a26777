// A person's edits to the maintained memory files since the last baseline are authoritative: the agent is told so,
// and whatever it undoes is put back before the baseline is committed (a real repository in a temporary home).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Handler, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { reapplyHandEdit } from '../services/memory-history/hand-edit-merge.ts';
import { diffRevision } from '../services/memory-history/history.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { type PipelineOptions, runPipeline } from '../services/pipeline.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { isAgentRequest, toolOutputs } from './support/agent-requests.ts';
import { tempCodexHome } from './support/codex-home.ts';

describe('putting a hand edit back into what the agent wrote', () => {
  const base = '# Group\n\n## Task 1: build\n\n- uses npm for installs\n\n## Task 2: deploy\n\n- deploy with make ship\n';

  it('keeps a corrected fact and keeps the wrong one out when the agent regenerates the file', () => {
    const edited = base.replace('- uses npm for installs', '- uses pnpm for installs (npm breaks the lockfile)');
    const agent = `${base}\n## Task 3: lint\n\n- lint with biome\n`;
    const merged = reapplyHandEdit({ base, edited }, agent, new Set());
    expect(merged).toContain('- uses pnpm for installs (npm breaks the lockfile)');
    expect(merged).not.toContain('uses npm for installs');
    expect(merged).toContain('- lint with biome');
    // In place: after the line that preceded it in the person's version.
    expect(merged.indexOf('pnpm')).toBeLessThan(merged.indexOf('## Task 2'));
  });

  it('keeps a deleted block deleted, but not the structure other blocks repeat', () => {
    const edited = '# Group\n\n## Task 1: build\n\n- uses npm for installs\n';
    const merged = reapplyHandEdit({ base, edited }, base, new Set());
    expect(merged).not.toContain('## Task 2: deploy');
    expect(merged).not.toContain('make ship');
    expect(merged).toBe('# Group\n\n## Task 1: build\n\n- uses npm for installs\n\n\n');
  });

  it('does not duplicate a line the agent moved into another memory file', () => {
    const edited = `${base}- staging is db-stage-7\n`;
    const merged = reapplyHandEdit({ base, edited }, base, new Set(['staging is db-stage-7']));
    expect(merged).toBe(base);
  });
  it("keeps memory_summary.md's version line first when the person wrote the file from scratch", () => {
    const edited = '## My profile\n\n- prefers pnpm over npm\n';
    const agent = 'v1\n## User Profile\n\n- works on the billing service\n';
    const merged = reapplyHandEdit({ base: null, edited }, agent, new Set());
    expect(merged.split('\n')[0]).toBe('v1');
    expect(merged).toContain('- prefers pnpm over npm');
    expect(merged).toContain('- works on the billing service');
  });
});

describe('a consolidation after hand edits', () => {
  let home: string;
  let root: string;
  let cleanup: () => Promise<void>;
  let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
  let handler: Handler;

  beforeEach(async () => {
    ({ home, cleanup } = await tempCodexHome());
    root = join(home, 'memories');
    handler = scriptedHandler();
    server = await startLocalOpenAIServer({ handler: (req) => handler(req) });
  });
  afterEach(async () => {
    await server.close();
    await cleanup();
  });

  const run = (extra: Partial<PipelineOptions> = {}) =>
    runPipeline({
      codexHome: home,
      model: createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' }),
      retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 },
      ...extra,
    });

  it('keeps a corrected fact and a deleted block through a run whose agent rewrites MEMORY.md, and commits them', async () => {
    await installFixtureRollouts(home);
    expect((await run()).phase2?.status).toBe('succeeded');
    const memoryMd = join(root, 'MEMORY.md');
    const original = await readFile(memoryMd, 'utf8');
    const wrong = original.split('\n').find((line) => line.startsWith('- User request:'))!;
    const corrected = '- User request: the person corrected this: the invoices live in billing-v2, not billing';
    // The block of the second task, up to the third.
    const block = original.slice(original.indexOf('## Task 2:'), original.indexOf('## Task 3:'));
    const blockHeading = block.split('\n')[0]!;
    await writeFile(memoryMd, original.replace(wrong, corrected).replace(block, ''));

    const prompts: string[] = [];
    handler = (req) => {
      if (isAgentRequest(req.body) && toolOutputs(req.body).length === 0) prompts.push(JSON.stringify(req.body));
      return scriptedHandler()(req);
    };
    await createLowdbStore({ dir: join(home, 'memories_state') }).enqueueGlobalConsolidation(1);
    const second = (await run({ phase: '2' })).phase2!;

    expect(second.status).toBe('succeeded');
    // The agent was told, with the edit itself in the diff.
    expect(prompts[0]).toContain('Edits a person made by hand (authoritative');
    expect(prompts[0]).toContain(`+${corrected}`);
    // The scripted agent rebuilds MEMORY.md from the inputs, undoing both edits; they were put back.
    expect(second.handEditsRestored).toEqual(['MEMORY.md']);
    const after = await readFile(memoryMd, 'utf8');
    expect(after).toContain(corrected);
    expect(after).not.toContain(wrong);
    expect(after).not.toContain(blockHeading);
    // The rest of the agent's work stands: the other tasks are there.
    expect(after).toContain('## Task 3:');
    // The baseline records the folder with the edits kept.
    const committed = await diffRevision(root, 'HEAD');
    expect(committed.patch).not.toContain(`+${wrong}`);
    expect(committed.patch).not.toContain(`+${blockHeading}`);
  });

  it('keeps a hand edit to memory_summary.md that the agent dropped', async () => {
    await installFixtureRollouts(home);
    await run();
    const summaryMd = join(root, 'memory_summary.md');
    const fact = '- The user deploys only on weekdays (hand-written)';
    await writeFile(summaryMd, (await readFile(summaryMd, 'utf8')).replace('## General Tips\n', `## General Tips\n${fact}\n`));
    await createLowdbStore({ dir: join(home, 'memories_state') }).enqueueGlobalConsolidation(1);
    const second = (await run({ phase: '2' })).phase2!;
    expect(second.status).toBe('succeeded');
    expect(second.handEditsRestored).toEqual(['memory_summary.md']);
    const after = await readFile(summaryMd, 'utf8');
    expect(after).toContain(`## General Tips\n${fact}\n`);
    expect(after.startsWith('v1\n')).toBe(true);
  });
});
