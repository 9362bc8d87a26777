// `memories run` says why rollouts it saw were not eligible, and its --json counts add up: seen = eligible +
// ineligible + withheld (by Codex's thread state) + unreadable.
import { basename, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { createThreadDb } from './support/codex-thread-db.ts';

const HOUR_MS = 3_600_000;
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
beforeAll(async () => {
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
});
afterAll(() => server.close());

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
});
afterEach(() => cleanup());

const run = (...flags: string[]) => memories(['run', '--codex-home', home, '--base-url', server.url, '--phase', '1', ...flags]);
const threadIdOf = (path: string) => basename(path, '.jsonl').slice(-36);
const addsUp = (r: { seen: number; eligible: number; ineligible: number; withheld: number; unreadable: number }) =>
  r.eligible + r.ineligible + r.withheld + r.unreadable === r.seen;

describe('memories run on rollouts it may not take', () => {
  it('counts threads Codex withholds (archived, memory mode) in --json and says so', async () => {
    const [archived, polluted] = await installFixtureRollouts(home);
    const db = await createThreadDb(join(home, 'state_5.sqlite'), [
      { id: threadIdOf(archived!), rolloutPath: archived!, archived: true },
      { id: threadIdOf(polluted!), rolloutPath: polluted!, memoryMode: 'polluted' },
    ]);
    db.close();

    const json = JSON.parse((await run('--json')).stdout);
    expect(json.rollouts.withheld).toBe(2);
    expect(addsUp(json.rollouts)).toBe(true);
    const { stdout } = await run();
    expect(stdout).toMatch(/^2 thread\(s\) withheld by Codex: archived, or memories off for them \(reasons in the log\)$/m);
  });

  it('says how many are not idle yet, and how long a rollout must be idle, on a fresh home', async () => {
    // Written now: inside Codex's 6 h idle window.
    await installFixtureRollouts(home, { now: Date.now() + 7 * HOUR_MS });
    const json = JSON.parse((await run('--json')).stdout);
    expect(json.rollouts).toMatchObject({ eligible: 0, notIdleYet: 5, withheld: 0 });
    expect(addsUp(json.rollouts)).toBe(true);

    const { stdout } = await run();
    expect(stdout).toMatch(/ 0 eligible; 0 tokens$/m);
    expect(stdout).toMatch(
      /^5 rollout\(s\) not idle yet: a rollout is eligible once idle for 6 h \(min_rollout_idle_hours, or --idle-minutes\)$/m,
    );
    expect(stdout).toMatch(
      /^3 rollout\(s\) not eligible: too old \(max_rollout_age_days\), not interactive, or no user message$/m,
    );
    expect((await run('--idle-minutes', '90')).stdout).toMatch(
      /^5 rollout\(s\) not idle yet: a rollout is eligible once idle for 90 min /m,
    );
  });

  it('says neither "not idle yet" nor "withheld" when no rollout is either', async () => {
    await installFixtureRollouts(home);
    const { stdout } = await run();
    expect(stdout).not.toMatch(/not idle yet|withheld/);
  });
});
