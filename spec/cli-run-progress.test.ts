// What `memories run` says while it works, off a terminal (the bin's stdout is a pipe here): a line per
// finished job, phase 2's start and end, and how many eligible rollouts are left for the next run.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
let home: string;
let cleanup: () => Promise<void>;
// Five fixture rollouts, two claimed per run: the runs below take 2, 2, then the last 1.
beforeAll(async () => {
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
  ({ home, cleanup } = await tempCodexHome());
  await installFixtureRollouts(home);
  await writeFile(join(home, 'config.toml'), '[memories]\nmax_rollouts_per_startup = 2\n');
});
afterAll(async () => {
  await server.close();
  await cleanup();
});

const run = (...flags: string[]) => memories(['run', '--codex-home', home, '--base-url', server.url, ...flags]);

describe('memories run progress', () => {
  it('prints each finished job, phase 2 starting and ending, then the summary with the rollouts left waiting', async () => {
    const { code, stdout, stderr } = await run();
    expect(code).toBe(0);
    expect(stderr).toBe(''); // no live counter when stderr is not a terminal
    const lines = stdout.trimEnd().split('\n');
    const at = (pattern: RegExp) => lines.findIndex((line) => pattern.test(line));
    const order = [
      at(/^phase 1: 2 rollout\(s\) claimed$/),
      at(/^ {2}\[1\/2\] succeeded(NoOutput)? +\S+ {2}\d+ tokens$/),
      at(/^ {2}\[2\/2\] succeeded(NoOutput)? +\S+ {2}\d+ tokens$/),
      at(/^phase 2: consolidating$/),
      at(/^phase 2: succeeded in \d+(\.\d)? s$/),
      at(/^phase 1: 2 job\(s\) claimed/),
      at(/^3 eligible rollout\(s\) wait; run again or raise --max-rollouts$/),
      at(/^done in \d+ ms$/),
    ];
    expect(order.every((index) => index >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
  });

  it('--quiet prints the summary alone', async () => {
    const { code, stdout } = await run('--quiet');
    expect(code).toBe(0);
    expect(stdout).not.toMatch(/\[\d+\/\d+\]|consolidating/);
    expect(stdout).toMatch(/^phase 1: 2 job\(s\) claimed/m);
    expect(stdout).toMatch(/^1 eligible rollout\(s\) wait; run again or raise --max-rollouts$/m);
  });

  it('--json lists every job with its outcome and reason beside the counts', async () => {
    const { code, stdout } = await run('--phase', '1', '--json');
    expect(code).toBe(0);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ claimed: 1, skipped: 4, rollouts: { eligible: 5, unclaimed: 0 } });
    expect(summary.jobs).toEqual([
      {
        threadId: expect.any(String),
        outcome: expect.stringMatching(/^succeeded/),
        attempts: 1,
        reason: null,
        tokens: expect.any(Number),
      },
    ]);
    expect(summary.metrics).toBeDefined();
  });

  it('--phase 2 says phase 2 is consolidating too (the run is in phase 2 from its first state)', async () => {
    const { code, stdout } = await run('--phase', '2'); // the run above left a new memory to consolidate
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines.slice(0, 2)).toEqual(['phase 2: consolidating', expect.stringMatching(/^phase 2: succeeded in /)]);
  });

  it('a run with nothing new says the eligible rollouts are already extracted and phase 2 has nothing to do', async () => {
    const { code, stdout } = await run();
    expect(code).toBe(0);
    expect(stdout).toMatch(
      /^phase 1: 0 job\(s\) claimed, .*; \d+ rollout\(s\) seen, 5 eligible \(5 already extracted\); 0 tokens$/m,
    );
    expect(stdout).toMatch(/^phase 2: nothing new to consolidate in \d+(\.\d)? s$/m);
    expect(stdout).toMatch(/^phase 2: nothing new to consolidate; 0 selected/m);
    expect(stdout).not.toMatch(/wait; run again/);
  });

  it('counts a rollout file it could not read, in --json and in the summary line', async () => {
    const before = JSON.parse((await run('--phase', '1', '--json')).stdout).rollouts;
    expect(before.unreadable).toBe(0);
    await writeFile(join(home, 'sessions', 'rollout-2026-01-01T00-00-00-torn.jsonl'), 'not json\n{"torn":');
    const json = JSON.parse((await run('--phase', '1', '--json')).stdout);
    expect(json.rollouts).toMatchObject({ seen: before.seen + 1, eligible: before.eligible, unreadable: 1 });
    const { stdout } = await run('--phase', '1');
    const counts = `${before.seen + 1} rollout\\(s\\) seen, ${before.eligible} eligible \\(${before.eligible} already extracted\\), 1 unreadable \\(reasons in the log\\); `;
    expect(stdout).toMatch(new RegExp(`^phase 1: .*; ${counts}`, 'm'));
  });

  it('--quiet keeps --retry-failed to the summary as well', async () => {
    const { code, stdout } = await run('--phase', '1', '--retry-failed', '--quiet');
    expect(code).toBe(0);
    expect(stdout).not.toContain('--retry-failed');
    expect(stdout).toMatch(/^phase 1: 0 job\(s\) claimed/m);
  });
});
