// `memories log`, `diff`, `revert` and `consolidate --now` through the real bin, on a real repository in a
// temporary home, with the local OpenAI-compatible server playing the model.
import { existsSync } from 'node:fs';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
beforeAll(async () => {
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
});
afterAll(() => server.close());

const MODEL_ENV = { OPENAI_API_KEY: 'test' };
// A dozen real CLI starts in a row, each a couple of seconds on a loaded machine: a limit, not a speed check.
const CLI_STEPS_TIMEOUT_MS = 180_000;

async function json(args: string[]) {
  const result = await memories([...args, '--json'], MODEL_ENV);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout);
}

describe('memories log, diff, revert and consolidate --now', () => {
  it(
    'logs each consolidation, diffs a hand edit, reverts as a new revision, then consolidates from there',
    async () => {
      const { home, cleanup } = await tempCodexHome();
      try {
        const at = ['--codex-home', home];
        expect(await json(['log', ...at])).toMatchObject({ revisions: [] });
        expect(await json(['diff', ...at])).toMatchObject({ revision: null, against: null, changes: [] });
        // Reading a history that does not exist yet creates no memory folder.
        expect(existsSync(join(home, 'memories')) || existsSync(join(home, 'memories_v2'))).toBe(false);

        await installFixtureRollouts(home);
        const first = await json(['run', ...at, '--base-url', server.url]);
        expect(first.phase2.status).toBe('succeeded');
        const { root, revisions: afterRun } = await json(['log', ...at]);
        expect(afterRun).toHaveLength(1);
        const memoryMd = join(root, 'MEMORY.md');
        const consolidated = await readFile(memoryMd, 'utf8');
        expect(afterRun[0]).toEqual({
          id: expect.stringMatching(/^[0-9a-f]{40}$/),
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          subject: 'Consolidate memory',
          kind: 'consolidation',
          added: 5,
          retained: 0,
          removed: 0,
          notes: 0,
          memoryBytes: Buffer.byteLength(consolidated),
        });

        // Nothing is due, yet --now consolidates, and says it absorbed the hand edit.
        await appendFile(memoryMd, '- hand edit: deploys go through make release\n');
        const diff = await json(['diff', ...at]);
        expect(diff).toMatchObject({
          revision: null,
          against: afterRun[0].id,
          changes: [{ path: 'MEMORY.md', status: 'modified' }],
        });
        expect(diff.patch).toContain('+- hand edit: deploys go through make release');
        const now = await json(['consolidate', '--now', ...at, '--base-url', server.url]);
        expect(now).toMatchObject({
          status: 'succeeded',
          mode: 'INCREMENTAL',
          baseline: afterRun[0].id,
          inputs: { selected: 5, added: 0, retained: 5, removed: 0 },
          changes: [{ path: 'MEMORY.md', status: 'modified' }],
        });
        const { revisions: afterNow } = await json(['log', ...at]);
        expect(afterNow.map((r: { id: string }) => r.id)).toEqual([now.revision, afterRun[0].id]);
        const shown = await json(['diff', now.revision.slice(0, 8), ...at]);
        expect(shown).toMatchObject({ revision: now.revision, against: afterRun[0].id });

        // Revert to the first revision: a new revision on top, the later one still in the log.
        const reverted = await json(['revert', afterRun[0].id.slice(0, 7), ...at]);
        expect(reverted).toEqual({ revision: expect.any(String), revertedTo: afterRun[0].id, savedEdits: null });
        expect(await readFile(memoryMd, 'utf8')).toBe(consolidated);
        const { revisions: afterRevert } = await json(['log', ...at]);
        expect(afterRevert.map((r: { id: string }) => r.id)).toEqual([reverted.revision, now.revision, afterRun[0].id]);
        expect(afterRevert[0]).toMatchObject({ kind: 'revert', revertedTo: afterRun[0].id });

        // Consolidating after the revert starts from the reverted folder, incrementally.
        const again = await json(['consolidate', '--now', ...at, '--base-url', server.url]);
        expect(again).toMatchObject({ status: 'succeeded', mode: 'INCREMENTAL', baseline: reverted.revision, changes: [] });
        expect((await json(['log', ...at])).revisions).toHaveLength(4);
      } finally {
        await cleanup();
      }
    },
    CLI_STEPS_TIMEOUT_MS,
  );

  it(
    'records hand edits as a revision of their own before a revert, and prints one line per revision',
    async () => {
      const { home, cleanup } = await tempCodexHome();
      try {
        const at = ['--codex-home', home];
        await installFixtureRollouts(home);
        await json(['run', ...at, '--base-url', server.url]);
        const { root, revisions } = await json(['log', ...at]);
        await appendFile(join(root, 'MEMORY.md'), '- an edit the revert must not lose\n');
        const reverted = await json(['revert', 'HEAD', ...at]);
        expect(reverted.savedEdits).toMatch(/^[0-9a-f]{40}$/);
        const edits = await json(['diff', reverted.savedEdits, ...at]);
        expect(edits.patch).toContain('+- an edit the revert must not lose');

        const log = await memories(['log', ...at]);
        expect(log.code).toBe(0);
        const lines = log.stdout.trim().split('\n');
        expect(lines).toHaveLength(3);
        expect(lines[0]).toMatch(
          new RegExp(`^[0-9a-f]{7}  \\S+Z  revert to ${revisions[0].id.slice(0, 7)}  MEMORY.md \\d+ bytes$`),
        );
        expect(lines[1]).toMatch(/ {2}hand edits {2}/);
        expect(lines[2]).toMatch(/ {2}consolidation \+5 added, 0 retained, -0 removed, 0 note\(s\) {2}MEMORY\.md \d+ bytes$/);

        // Reverting to where the folder already is, unedited, records nothing.
        const noop = await memories(['revert', 'HEAD', ...at]);
        expect(noop.code).toBe(0);
        expect(noop.stdout).toMatch(/^memory folder is already at [0-9a-f]{7}, with no edits since: nothing to revert$/m);
        expect((await json(['log', ...at])).revisions).toHaveLength(3);

        const bad = await memories(['revert', 'nope', ...at]);
        expect(bad.code).toBe(1);
        expect(bad.stderr).toMatch(/not a revision/);

        // While a consolidation holds the global lease, a revert would race it: refused, the folder untouched.
        const stateDir = join(home, root.endsWith('memories_v2') ? 'memories_v2_state' : 'memories_state');
        const running = createLowdbStore({ dir: stateDir });
        await running.enqueueGlobalConsolidation(1);
        expect((await running.claimGlobalJob('another-worker', 3_600)).kind).toBe('claimed');
        const raced = await memories(['revert', revisions[0].id, ...at]);
        expect(raced.code).toBe(1);
        expect(raced.stderr).toMatch(/a consolidation is running/);
        expect((await json(['log', ...at])).revisions).toHaveLength(3);
      } finally {
        await cleanup();
      }
    },
    CLI_STEPS_TIMEOUT_MS,
  );
});
