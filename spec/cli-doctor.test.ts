// `memories doctor` as a user runs it: one line per check, non-zero exit when something is wrong.
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';

const lines = (text: string) => text.trim().split('\n');
/** The one line per check (the settings block and hand-off fix lines follow them). */
const checkLines = (text: string) => lines(text).filter((l) => /^(ok|WARN|FAIL|-)\s/.test(l));
const failures = (text: string) => lines(text).filter((l) => l.startsWith('FAIL'));

/** A port nothing listens on: bind one, note it, close it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
beforeAll(async () => {
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
});
afterAll(() => server.close());

describe('memories doctor', () => {
  it('names each problem of a fresh, misconfigured home in one line and exits non-zero', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await writeFile(join(home, 'config.toml'), '[memories]\nmax_rollouts_per_startup = "many"\n');
      const { code, stdout } = await memories(['doctor', '--codex-home', home]);
      expect(code).not.toBe(0);
      // Every check is one line; exactly the three problems fail.
      expect(checkLines(stdout)).toHaveLength(6);
      const failed = failures(stdout);
      expect(failed).toHaveLength(3);
      expect(failed.find((l) => /\bsessions\b/.test(l))).toMatch(/sessions does not exist/);
      expect(failed.find((l) => /\bconfig\b/.test(l))).toMatch(/max_rollouts_per_startup must be an integer/);
      expect(failed.find((l) => /\bendpoint\b/.test(l))).toMatch(/OPENAI_API_KEY is not set/);
      expect(stdout).toMatch(/^ok\s+codex home\s/m);
      expect(stdout).toMatch(/^ok\s+store\s.*not created yet/m);
    } finally {
      await cleanup();
    }
  });

  it('passes every check on a healthy home against the bundled local server', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      const handedOver = '[features]\nmemories = true\n\n[memories]\nversion = "v1"\ngenerate_memories = false\n';
      await writeFile(join(home, 'config.toml'), `${handedOver}phase_1_model = "local-small"\n`);
      const before = server.requests.length;
      const { code, stdout } = await memories(['doctor', '--codex-home', home, '--base-url', server.url]);
      expect(stdout).not.toMatch(/^(FAIL|WARN)/m);
      expect(code).toBe(0);
      expect(checkLines(stdout)).toHaveLength(6);
      expect(checkLines(stdout).every((l) => l.startsWith('ok'))).toBe(true);
      expect(stdout).toMatch(/^ok\s+sessions\s+\d+ rollout files/m);
      expect(stdout).toMatch(/^ok\s+endpoint\s.*answered a minimal responses request with model local-small/m);
      // A real request reached the server: /models first (it has none), then one minimal call.
      const paths = server.requests.slice(before).map((r) => r.path);
      expect(paths).toEqual(['/v1/models', '/v1/responses']);

      // After a run the store check reads the store.
      expect((await memories(['run', '--codex-home', home, '--phase', '1', '--base-url', server.url])).code).toBe(0);
      const again = await memories(['doctor', '--codex-home', home, '--base-url', server.url, '--wire-api', 'chat', '--json']);
      expect(again.code).toBe(0);
      const report = JSON.parse(again.stdout);
      expect(report.ok).toBe(true);
      expect(report.checks.map((c: { name: string }) => c.name)).toEqual([
        'codex home',
        'sessions',
        'config',
        'endpoint',
        'hand-off',
        'store',
      ]);
      expect(report.checks.find((c: { name: string }) => c.name === 'store').message).toMatch(/\d+ stage-1 jobs/);
      expect(server.requests.at(-1)?.path).toBe('/v1/chat/completions');
    } finally {
      await cleanup();
    }
  });

  it('reports an unreachable endpoint and a corrupt store', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      await mkdir(join(home, 'memories_state'));
      await writeFile(join(home, 'memories_state', 'jobs.json'), '{ not json');
      const port = await closedPort();
      const { code, stdout } = await memories(['doctor', '--codex-home', home, '--base-url', `http://127.0.0.1:${port}/v1`]);
      expect(code).not.toBe(0);
      const failed = failures(stdout);
      expect(failed).toHaveLength(2);
      expect(failed[0]).toMatch(/endpoint\s+cannot reach http:\/\/127\.0\.0\.1:\d+\/v1: ECONNREFUSED/);
      expect(failed[1]).toMatch(/store\s+store file .*jobs\.json is not valid JSON/);
    } finally {
      await cleanup();
    }
  });

  it('explains an endpoint that rejects the key', async () => {
    const { home, cleanup } = await tempCodexHome();
    const strict = await startLocalOpenAIServer({
      handler: () => ({ status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error' } } }),
    });
    try {
      await installFixtureRollouts(home);
      const { code, stdout } = await memories(['doctor', '--codex-home', home, '--base-url', strict.url], {
        OPENAI_API_KEY: 'sk-wrong',
      });
      expect(code).not.toBe(0);
      expect(failures(stdout)).toEqual([
        expect.stringMatching(/endpoint\s+.*401.*API key was rejected.*Incorrect API key provided/),
      ]);
      expect(stdout).not.toContain('sk-wrong');
    } finally {
      await strict.close();
      await cleanup();
    }
  });
});
