// Jobs a submitted batch holds are not another run's: a plain `memories run` says they wait in a pending batch that
// `memories run --batch` collects, and `memories status` (table and --json) lists the pending batches.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalOpenAIServer, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';

// The fixtures hold 5 interactive rollouts with a user message.
const INTERACTIVE = 5;
let server: LocalOpenAIServer;
let made: Awaited<ReturnType<typeof tempCodexHome>>;

beforeAll(async () => {
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
  made = await tempCodexHome();
  await installFixtureRollouts(made.home);
  const submitted = await run('--batch');
  expect(submitted.code, submitted.stderr).toBe(0);
});

afterAll(async () => {
  await server?.close();
  await made?.cleanup();
});

const run = (...extra: string[]) =>
  memories(['run', '--codex-home', made.home, '--base-url', server.url, '--phase', '1', ...extra], { OPENAI_API_KEY: 'test' });

it('says a plain run found the rollouts waiting in a pending batch, which run --batch collects', async () => {
  const { code, stdout, stderr } = await run();
  expect(code, stderr).toBe(0);
  expect(stdout).toContain(
    `\n${INTERACTIVE} eligible rollout(s) wait in 1 pending batch(es) (the Batch API answers within 24 h); ` +
      '`memories run --batch` collects them\n',
  );
  expect(stdout).not.toContain("another run's lease");
});

it('lists the pending batch in status, with its jobs and when it was submitted', async () => {
  const batchId = server.batches.latest()!.id;
  const table = await memories(['status', '--codex-home', made.home]);
  expect(table.stdout).toMatch(
    new RegExp(
      `^pending batches +${batchId} \\(${INTERACTIVE} jobs, submitted \\S+Z \\((now|\\d+s ago)\\)\\); \`memories run --batch\` collects them$`,
      'm',
    ),
  );
  const json = JSON.parse((await memories(['status', '--codex-home', made.home, '--json'])).stdout);
  expect(json.pendingBatches).toEqual([
    {
      batchId,
      jobs: INTERACTIVE,
      model: expect.any(String),
      submittedAt: expect.stringMatching(/Z$/),
      expiresAt: expect.anything(),
    },
  ]);
});
