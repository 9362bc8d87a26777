// Secrets a person types into the memory folder reach no revision: every path that records the folder in its history
// (a revert's record of the hand edits, the revert itself, a consolidation's baseline) redacts their files first.
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { isAgentRequest } from './support/agent-requests.ts';
import { memories } from './support/cli.ts';
import { historyText, memoryHomePerTest } from './support/memory-home.ts';
import { generatedSecrets, leaked, type Planted } from './support/secret-corpus.ts';

const t = memoryHomePerTest();

const cli = async (args: string[]) => {
  const result = await memories([...args, '--codex-home', t.home, '--json']);
  expect(result.code, result.stderr).toBe(0);
  return JSON.parse(result.stdout);
};
const secret = (family: string, seed: number): Planted => generatedSecrets(1, seed).find(([f]) => f === family)![1];

describe('secrets in hand-written files and the memory history', () => {
  it('a revert records the hand edits it saves with their secrets redacted, and the rest of each edit kept', async () => {
    await installFixtureRollouts(t.home, { count: 1 });
    expect((await t.run()).phase2?.status).toBe('succeeded');
    const inMemory = { text: 'sk-proj-ZZZZabcdefghijklmnop0123456789', needles: ['ZZZZabcdefghijklmnop0123456789'] };
    const inSkill = secret('github', 51);
    const inNote = secret('openai', 52);
    await appendFile(join(t.root, 'MEMORY.md'), `- OPENAI_API_KEY=${inMemory.text}\n- Deploys go through make release\n`);
    await mkdir(join(t.root, 'skills', 'deploy'), { recursive: true });
    await writeFile(join(t.root, 'skills', 'deploy', 'SKILL.md'), `# Deploy\n\nUse the token ${inSkill.text} to push.\n`);
    await mkdir(join(t.root, 'extensions', 'ad_hoc'), { recursive: true });
    await writeFile(join(t.root, 'extensions', 'ad_hoc', 'keys.md'), `The CI key is ${inNote.text}\n`);

    const reverted = await cli(['revert', 'HEAD']);

    expect(reverted.savedEdits).toMatch(/^[0-9a-f]{40}$/);
    const history = await historyText(t.root);
    for (const planted of [inMemory, inSkill, inNote]) expect(leaked(planted, history)).toEqual([]);
    // Nothing else of the edits is lost: they are in the saved revision, each secret replaced by a marker.
    const saved = (await cli(['diff', reverted.savedEdits])).patch as string;
    expect(saved).toContain('+- OPENAI_API_KEY=[REDACTED_SECRET]');
    expect(saved).toContain('+- Deploys go through make release');
    expect(saved).toContain('+Use the token [REDACTED_SECRET] to push.');
    expect(saved).toMatch(/\+The CI key is \S*\[REDACTED_SECRET\]/);
    expect((await cli(['log'])).revisions.map((r: { kind: string }) => r.kind)).toEqual(['revert', 'edits', 'consolidation']);
  });

  it('a consolidation records no secret a person wrote into a note while the agent ran', async () => {
    await installFixtureRollouts(t.home, { count: 1 });
    const late = secret('aws-key-id', 53);
    let written = false;
    t.handler = async (req) => {
      if (isAgentRequest(req.body) && !written) {
        written = true;
        await mkdir(join(t.root, 'extensions', 'ad_hoc'), { recursive: true });
        await writeFile(join(t.root, 'extensions', 'ad_hoc', 'late.md'), `The deploy key is ${late.text}\n`);
      }
      return scriptedHandler()(req);
    };
    expect((await t.run()).phase2?.status).toBe('succeeded');
    expect(written).toBe(true);
    expect(leaked(late, await historyText(t.root))).toEqual([]);
    expect(leaked(late, await readFile(join(t.root, 'extensions', 'ad_hoc', 'late.md'), 'utf8'))).toEqual([]);
  });
});
