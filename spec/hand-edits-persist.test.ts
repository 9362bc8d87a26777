// A person's edits to the maintained memory files outlast the consolidation after them: the lines they added stay
// and the lines they deleted stay out through every later run, until they edit that line again themselves. The
// scripted agent rewrites the files from its inputs each run, as a careless agent would, undoing every hand edit.
import { existsSync } from 'node:fs';
import { appendFile, readFile, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Handler, Reply } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import type { Logger } from '../services/logger.ts';
import { silentLogger } from '../services/logger.ts';
import { diffRevision, revertTo } from '../services/memory-history/history.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { memoryHomePerTest } from './support/memory-home.ts';

const t = memoryHomePerTest();
const RULE = '- MY OWN RULE: use pnpm, never npm.';

const consolidate = async (version: 'v1' | 'v2' = 'v1', log: Logger = silentLogger) => {
  const state = join(t.home, version === 'v1' ? 'memories_state' : 'memories_v2_state');
  await createLowdbStore({ dir: state }).enqueueGlobalConsolidation(1);
  const result = (await t.run({ phase: '2', config: { version }, log })).phase2!;
  expect(result.status, result.reason ?? '').toBe('succeeded');
  return result;
};
const count = (text: string, line: string) => text.split('\n').filter((l) => l === line).length;

/** The scripted agent, also writing `line` at the end of `path` each time it writes that file. */
function alsoWriting(path: string, line: string): Handler {
  const scripted = scriptedHandler();
  return async (req) => {
    const reply: Reply = await scripted(req);
    if (!('toolCalls' in reply)) return reply;
    const toolCalls = reply.toolCalls.map((call) => {
      const args = JSON.parse(call.arguments);
      if (call.name !== 'write_file' || args.path !== path) return call;
      return { ...call, arguments: JSON.stringify({ ...args, content: `${args.content}${line}\n` }) };
    });
    return { ...reply, toolCalls };
  };
}

describe('hand edits through later consolidations', () => {
  it('keeps a line the person added and keeps a line they deleted out, through two consolidations', async () => {
    await installFixtureRollouts(t.home);
    expect((await t.run()).phase2?.status).toBe('succeeded');
    const memoryMd = join(t.root, 'MEMORY.md');
    const original = await readFile(memoryMd, 'utf8');
    const deleted = original.split('\n').find((line) => line.startsWith('- User request:'))!;
    await writeFile(memoryMd, `${original.replace(`${deleted}\n`, '')}${RULE}\n`);

    expect((await consolidate()).handEditsRestored).toEqual(['MEMORY.md']);
    const second = await consolidate();

    // The agent undid both again; the person's edit made two runs ago still wins, and says so.
    expect(second.handEditsRestored).toEqual(['MEMORY.md']);
    const after = await readFile(memoryMd, 'utf8');
    expect(count(after, RULE)).toBe(1);
    expect(after).not.toContain(deleted);
    expect(after).toContain('## Task 3:');
    // What is committed is the folder with the edits kept, and the record of them is no file of the folder.
    expect((await diffRevision(t.root)).changes).toEqual([]);
    expect((await diffRevision(t.root, 'HEAD')).patch).not.toContain(`-${RULE}`);
  });

  it('keeps a line the person added and then removed out, even when the agent writes it again', async () => {
    await installFixtureRollouts(t.home);
    expect((await t.run()).phase2?.status).toBe('succeeded');
    const memoryMd = join(t.root, 'MEMORY.md');
    await appendFile(memoryMd, `${RULE}\n`);
    await consolidate();
    expect(count(await readFile(memoryMd, 'utf8'), RULE)).toBe(1);

    await writeFile(memoryMd, (await readFile(memoryMd, 'utf8')).replace(`${RULE}\n`, ''));
    // An agent that learned the rule and keeps writing it: the person's newer edit, removing it, wins.
    t.handler = alsoWriting('MEMORY.md', RULE);
    await consolidate();
    expect(await readFile(memoryMd, 'utf8')).not.toContain(RULE);
    await consolidate();
    expect(await readFile(memoryMd, 'utf8')).not.toContain(RULE);
  });

  it('leaves an earlier added line where the agent moved it, and puts it back when the agent drops it there', async () => {
    await installFixtureRollouts(t.home);
    expect((await t.run()).phase2?.status).toBe('succeeded');
    const [memoryMd, summaryMd] = [join(t.root, 'MEMORY.md'), join(t.root, 'memory_summary.md')];
    await appendFile(memoryMd, `${RULE}\n`);
    await consolidate();

    t.handler = alsoWriting('memory_summary.md', RULE);
    await consolidate();
    expect(await readFile(memoryMd, 'utf8')).not.toContain(RULE);
    expect(count(await readFile(summaryMd, 'utf8'), RULE)).toBe(1);

    t.handler = scriptedHandler();
    expect((await consolidate()).handEditsRestored).toEqual(['MEMORY.md']);
    expect(count(await readFile(memoryMd, 'utf8'), RULE)).toBe(1);
  });

  it('keeps a line the person added before the last baseline when the last session is forgotten', async () => {
    await installFixtureRollouts(t.home, { count: 1 });
    expect((await t.run()).phase2?.status).toBe('succeeded');
    await appendFile(join(t.root, 'MEMORY.md'), `${RULE}\n`);
    await consolidate();

    const store = createLowdbStore({ dir: join(t.home, 'memories_state') });
    for (const { threadId } of (await store.status()).outputs) await store.forgetThread(threadId);
    const result = (await t.run({ phase: '2' })).phase2!;

    // Codex would delete MEMORY.md with nothing selected; the person's line keeps it, and the agent runs.
    expect(result).toMatchObject({ status: 'succeeded', selected: 0, removed: 1 });
    expect(count(await readFile(join(t.root, 'MEMORY.md'), 'utf8'), RULE)).toBe(1);
  });

  it('keeps a hand edit to the v2 memory_summary.md through two consolidations, under its version line', async () => {
    await installFixtureRollouts(t.home);
    expect((await t.run({ config: { version: 'v2' } })).phase2?.status).toBe('succeeded');
    const summaryMd = join(t.home, 'memories_v2', 'memory_summary.md');
    const deleted = '- Look up the matching rollout summary before repeating past work.';
    const original = await readFile(summaryMd, 'utf8');
    expect(original).toContain(deleted);
    await writeFile(summaryMd, original.replace(deleted, RULE));

    await consolidate('v2');
    const second = await consolidate('v2');

    expect(second.handEditsRestored).toEqual(['memory_summary.md']);
    const after = await readFile(summaryMd, 'utf8');
    expect(after.startsWith('v1\n')).toBe(true);
    // Where the person put it: in the tips, not after the list of what is in memory.
    expect(after.indexOf(RULE)).toBeGreaterThan(after.indexOf('## General Tips'));
    expect(after.indexOf(RULE)).toBeLessThan(after.indexOf("## What's in Memory"));
    expect(count(after, RULE)).toBe(1);
    expect(after).not.toContain(deleted);
  });

  it('keeps a skill the person deleted deleted when the agent writes it again each run', async () => {
    await installFixtureRollouts(t.home);
    const skill = join(t.root, 'skills', 'deploy', 'SKILL.md');
    const scripted = scriptedHandler();
    // An agent that writes the same skill every time it writes the memory files.
    t.handler = async (req) => {
      const reply = await scripted(req);
      if (!('toolCalls' in reply) || !reply.toolCalls.some((c) => c.name === 'write_file')) return reply;
      const content = '# Deploy\n\n- deploy with make ship from the main branch\n';
      const write = {
        id: 'call_write_skill',
        name: 'write_file',
        arguments: JSON.stringify({ path: 'skills/deploy/SKILL.md', content }),
      };
      return { ...reply, toolCalls: [...reply.toolCalls, write] };
    };
    expect((await t.run()).phase2?.status).toBe('succeeded');
    expect(await readFile(skill, 'utf8')).toContain('make ship');
    await unlink(skill);

    await consolidate();
    expect(existsSync(skill)).toBe(false);
    expect((await consolidate()).handEditsRestored).toEqual(['skills/deploy/SKILL.md']);
    expect(existsSync(skill)).toBe(false);
  });

  it('keeps the protections through a revert, and a damaged record of them breaks no run', async () => {
    await installFixtureRollouts(t.home);
    expect((await t.run()).phase2?.status).toBe('succeeded');
    const memoryMd = join(t.root, 'MEMORY.md');
    await appendFile(memoryMd, `${RULE}\n`);
    await consolidate();
    await revertTo(t.root, 'HEAD~1');
    expect(await readFile(memoryMd, 'utf8')).not.toContain(RULE);

    // The revert took the folder back, not the person's edit: the next run puts the line back.
    expect((await consolidate()).handEditsRestored).toEqual(['MEMORY.md']);
    expect(count(await readFile(memoryMd, 'utf8'), RULE)).toBe(1);

    await writeFile(join(t.root, '.git', 'memories-hand-edits.json'), '{"format": 1, "files": {"MEMORY.md": 7}');
    const newer = '- ANOTHER RULE: run the linter before each commit.';
    await appendFile(memoryMd, `${newer}\n`);
    const warnings: string[] = [];
    const warn = (_: unknown, message: string) => void warnings.push(message);
    const log: Logger = { ...silentLogger, warn: warn as Logger['warn'] };
    await consolidate('v1', log);
    expect(warnings.some((w) => w.includes('unusable'))).toBe(true);
    // Taken as empty: this run's edit is kept, and recorded afresh for the runs after it.
    expect(await readFile(memoryMd, 'utf8')).toContain(newer);
    await consolidate();
    expect(count(await readFile(memoryMd, 'utf8'), newer)).toBe(1);
  });
});
