// A run whose model calls fail is loud: exit status 1, each reason on stderr (never stdout) and in
// --json, and `--retry-failed` takes the failed jobs again at once instead of an hour later.
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';

const THREAD_ID = /^memories: [0-9a-f-]{36} failed \(gaveUp\): .+/;
let good: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
let rejecting: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
beforeAll(async () => {
  good = await startLocalOpenAIServer({ handler: scriptedHandler() });
  rejecting = await startLocalOpenAIServer({ handler: () => ({ status: 401 }) });
});
afterAll(async () => {
  await good.close();
  await rejecting.close();
});

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
  await installFixtureRollouts(home);
});
afterEach(() => cleanup());

const run = (url: string, ...flags: string[]) => memories(['run', '--codex-home', home, '--base-url', url, ...flags]);

describe('memories run with failing model calls', () => {
  it('exits 1 when the endpoint rejects the key, with every reason on stderr and in --json', async () => {
    const { code, stdout, stderr } = await run(rejecting.url, '--phase', '1', '--json');
    expect(code).toBe(1);
    const summary = JSON.parse(stdout);
    expect(summary).toMatchObject({ claimed: 5, failed: 5 });
    expect(summary.failures).toHaveLength(5);
    for (const failure of summary.failures)
      expect(failure).toMatchObject({ outcome: 'gaveUp', reason: expect.stringMatching(/401/) });
    const lines = stderr.trim().split('\n');
    expect(lines.filter((l) => THREAD_ID.test(l) && /401/.test(l))).toHaveLength(5);
  });

  it('exits 1 on an unreachable endpoint, the reason on stderr and not on stdout', async () => {
    const { code, stdout, stderr } = await run('http://127.0.0.1:1/v1', '--phase', '1', '--max-rollouts', '1');
    expect(code).toBe(1);
    expect(stderr).toMatch(THREAD_ID);
    // Node's fetch refuses port 1: that reason, not undici's bare "fetch failed".
    expect(stderr).toMatch(/could not reach the model server at http:\/\/127\.0\.0\.1:1\/v1: bad port/);
    expect(stdout).toMatch(/1 failed/);
    expect(stdout).not.toMatch(/memories: |connect|ECONNREFUSED/i);
  }, 60_000);

  it('exits 1 when phase 2 fails, with its reason on stderr', async () => {
    const agentRejected = await startLocalOpenAIServer({
      handler: (req) => (Array.isArray(req.body.tools) && req.body.tools.length > 0 ? { status: 401 } : scriptedHandler()(req)),
    });
    try {
      const { code, stdout, stderr } = await run(agentRejected.url, '--json');
      expect(code).toBe(1);
      expect(JSON.parse(stdout)).toMatchObject({ failed: 0, failures: [], phase2: { status: 'failed' } });
      expect(stderr).toMatch(/^memories: phase 2 failed: .*401/m);
    } finally {
      await agentRejected.close();
    }
  });

  it('--retry-failed claims the failed jobs now; without it they wait for their retry time', async () => {
    expect((await run(rejecting.url, '--phase', '1')).code).toBe(1);
    const waiting = await run(good.url, '--phase', '1', '--json');
    expect(JSON.parse(waiting.stdout)).toMatchObject({ claimed: 0, skippedBy: { retryBackoff: 5 } });

    const retried = await run(good.url, '--phase', '1', '--json', '--retry-failed');
    expect(retried.code).toBe(0);
    expect(JSON.parse(retried.stdout)).toMatchObject({ claimed: 5, failed: 0, failures: [] });
    expect(retried.stderr).toBe('');
  }, 60_000);
});

it('tightens an existing log folder and file to 0700 and 0600', async () => {
  const dir = join(home, 'log');
  await mkdir(dir, { mode: 0o755 });
  await writeFile(join(dir, 'memories.log'), '', { mode: 0o644 });
  await chmod(dir, 0o755);
  await chmod(join(dir, 'memories.log'), 0o644);
  expect((await run(good.url, '--phase', '1')).code).toBe(0);
  expect((await stat(dir)).mode & 0o777).toBe(0o700);
  expect((await stat(join(dir, 'memories.log'))).mode & 0o777).toBe(0o600);
});
