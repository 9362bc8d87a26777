// A Codex 0.169 user's own home, as is: `memories run` with no flags and no OPENAI_API_KEY reaches the
// bundled local server through the provider's base_url, with the provider's key, headers and query.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { memories, spawnMemories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { CORP_KEY_VAR, codex0169Config } from './support/codex-config-toml.ts';
import { startRecordingProxy } from './support/recording-proxy.ts';

let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
beforeAll(async () => {
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
  proxy = await startRecordingProxy(server.url);
});
afterAll(async () => {
  await proxy.close();
  await server.close();
});

describe('a complete Codex 0.169 config.toml', () => {
  it('runs both phases with no flags and no OPENAI_API_KEY, through the provider it names', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      await writeFile(join(home, 'config.toml'), codex0169Config({ corp: proxy.url, local: server.url }));
      const run = spawnMemories(['run'], { CODEX_HOME: home, [CORP_KEY_VAR]: 'corp-secret-1', CORP_TRACE_ID: 'trace-7' });
      const { code } = await run.exited;
      expect(run.stderr()).toBe('');
      expect(code).toBe(0);

      const model = server.requests.filter((r) => r.path === '/v1/responses');
      expect(model.length).toBeGreaterThan(5);
      for (const request of model) {
        expect(request.headers.authorization).toBe('Bearer corp-secret-1');
        expect(request.headers['x-team']).toBe('platform');
        expect(request.headers['x-trace-id']).toBe('trace-7');
      }
      // Every request went through the provider's base_url and carried its query_params.
      expect(proxy.urls).toHaveLength(model.length);
      for (const url of proxy.urls) expect(new URL(url, proxy.url).searchParams.get('api-version')).toBe('2026-10-01');
      // [memories] extract_model and consolidation_model chose the models.
      expect(new Set(model.map((r) => r.body.model))).toEqual(new Set(['corp-extract', 'corp-consolidate']));
    } finally {
      await cleanup();
    }
  });

  it('refuses to run without the key the provider names, saying which variable', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await writeFile(join(home, 'config.toml'), codex0169Config({ corp: proxy.url, local: server.url }));
      const before = server.requests.length;
      const run = spawnMemories(['run'], { CODEX_HOME: home, OPENAI_API_KEY: 'sk-openai-not-for-corp' });
      const { code } = await run.exited;
      expect(code).toBe(2);
      expect(run.stderr().trim().split('\n')).toEqual([
        `memories: model provider 'corp' reads its API key from ${CORP_KEY_VAR}, which is not set`,
      ]);
      expect(server.requests.length).toBe(before);
    } finally {
      await cleanup();
    }
  });
  it('runs past a ChatGPT login against a local provider, saying once that its token is not sent', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      await writeFile(join(home, 'config.toml'), `profile = "local"\n${codex0169Config({ corp: proxy.url, local: server.url })}`);
      const tokens = { id_token: 'eyJ.id', access_token: 'eyJ.chatgpt-access', refresh_token: 'rt', account_id: 'a' };
      await writeFile(join(home, 'auth.json'), JSON.stringify({ OPENAI_API_KEY: null, tokens }));
      const before = server.requests.length;
      const { code, stderr } = await memories(['run', '--codex-home', home, '--phase', '1']);
      expect(code).toBe(0);
      expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(/holds a ChatGPT login.*not sent/)]);
      const sent = server.requests.slice(before);
      expect(sent.length).toBeGreaterThan(0);
      expect(sent.every((r) => r.path === '/v1/chat/completions' && r.headers['x-provider'] === 'local-chat')).toBe(true);
      expect(JSON.stringify(sent.map((r) => r.headers))).not.toContain('chatgpt-access');
    } finally {
      await cleanup();
    }
  });
});
