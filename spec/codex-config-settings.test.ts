// Which provider, wire, key and models a Codex home yields, and where each came from:
// flag > profile > config.toml > environment / auth.json > default, as Codex resolves them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadEffectiveSettings } from '../services/config/effective-settings.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { CORP_KEY_VAR, codex0169Config } from './support/codex-config-toml.ts';

const URLS = { corp: 'http://127.0.0.1:1/corp/v1', local: 'http://127.0.0.1:2/local/v1' };
const CHATGPT_LOGIN = {
  OPENAI_API_KEY: null,
  tokens: { id_token: 'eyJ.id', access_token: 'eyJ.chatgpt-access', refresh_token: 'rt-1', account_id: 'acct-1' },
  last_refresh: '2026-12-01T00:00:00Z',
};

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
});
afterEach(() => cleanup());

const write = (name: string, text: string) => writeFile(join(home, name), text);
const source = (settings: Awaited<ReturnType<typeof loadEffectiveSettings>>, setting: string) =>
  settings.sources.find((s) => s.setting === setting);

describe('the provider and its precedence', () => {
  it('takes the top-level model_provider with its base_url, wire_api, env_key, headers and query', async () => {
    await write('config.toml', codex0169Config(URLS));
    const { endpoint } = await loadEffectiveSettings(home, {}, { [CORP_KEY_VAR]: 'k1', CORP_TRACE_ID: 't1' });
    expect(endpoint.providerId).toEqual({ value: 'corp', source: 'config.toml' });
    expect(endpoint.baseURL).toEqual({ value: URLS.corp, source: 'config.toml model_providers.corp' });
    expect(endpoint.wireApi.value).toBe('responses');
    expect(endpoint.apiKey).toEqual({ value: 'k1', source: `env ${CORP_KEY_VAR}` });
    expect(endpoint.headers).toEqual({ 'X-Team': 'platform', 'X-Trace-Id': 't1' });
    expect(endpoint.query).toEqual({ 'api-version': '2026-10-01' });
  });

  it('lets --profile pick its model_provider over the top-level one', async () => {
    await write('config.toml', codex0169Config(URLS));
    const settings = await loadEffectiveSettings(home, { profile: 'local' }, {});
    expect(settings.endpoint.providerId).toEqual({ value: 'local-chat', source: 'profile local' });
    expect(settings.endpoint.baseURL.value).toBe(URLS.local);
    expect(settings.endpoint.wireApi).toEqual({ value: 'chat', source: 'model provider local-chat' });
    expect(settings.endpoint.headers).toEqual({ 'X-Provider': 'local-chat' });
    // A profile's [features] overrides the top level's.
    expect(source(settings, 'features.memories')).toEqual({
      setting: 'features.memories',
      value: 'false',
      source: 'profile local',
    });
  });

  it('falls back to the config.toml provider when the profile sets none', async () => {
    await write('config.toml', codex0169Config(URLS));
    const { endpoint } = await loadEffectiveSettings(home, { profile: 'deep' }, { [CORP_KEY_VAR]: 'k1' });
    expect(endpoint.providerId).toEqual({ value: 'corp', source: 'config.toml' });
  });

  it('selects the profile named by the top-level profile key, and --profile overrides it', async () => {
    await write('config.toml', `profile = "local"\n${codex0169Config(URLS)}`);
    const byKey = await loadEffectiveSettings(home, {}, {});
    expect(source(byKey, 'profile')).toMatchObject({ value: 'local', source: 'config.toml' });
    expect(byKey.endpoint.providerId.value).toBe('local-chat');
    const byFlag = await loadEffectiveSettings(home, { profile: 'deep' }, { [CORP_KEY_VAR]: 'k1' });
    expect(source(byFlag, 'profile')).toMatchObject({ value: 'deep', source: 'flag --profile' });
    expect(byFlag.endpoint.providerId.value).toBe('corp');
  });

  it('lets --base-url and --wire-api override the profile and config.toml', async () => {
    await write('config.toml', codex0169Config(URLS));
    const flags = { profile: 'local', baseUrl: 'http://127.0.0.1:3/v1', wireApi: 'responses', model: 'flag-model' };
    const settings = await loadEffectiveSettings(home, flags, {});
    expect(settings.endpoint.baseURL).toEqual({ value: 'http://127.0.0.1:3/v1', source: 'flag --base-url' });
    expect(settings.endpoint.wireApi).toEqual({ value: 'responses', source: 'flag --wire-api' });
    expect(settings.config.phase1Model).toBe('flag-model');
    expect(source(settings, 'memories.extract_model')).toMatchObject({ value: 'flag-model', source: 'flag --model' });
    expect(source(settings, 'memories.consolidation_model')).toMatchObject({ value: 'corp-consolidate', source: 'config.toml' });
  });

  it("sends none of the provider's key, headers or query to another server named by --base-url", async () => {
    await write('config.toml', codex0169Config(URLS));
    const flags = { baseUrl: 'http://127.0.0.1:3/v1' };
    const env = { [CORP_KEY_VAR]: 'corp-secret', CORP_TRACE_ID: 'trace-1' };
    const elsewhere = (await loadEffectiveSettings(home, flags, env)).endpoint;
    expect(elsewhere.apiKey.value).not.toBe('corp-secret');
    expect({ headers: elsewhere.headers, query: elsewhere.query }).toEqual({ headers: {}, query: {} });
    // Nor does it need the provider's variable set; OPENAI_API_KEY is what an OpenAI-compatible server gets.
    expect((await loadEffectiveSettings(home, flags, {})).endpoint.apiKey.source).toMatch(/^none/);
    const openai = (await loadEffectiveSettings(home, flags, { OPENAI_API_KEY: 'sk-user' })).endpoint.apiKey;
    expect(openai).toEqual({ value: 'sk-user', source: 'env OPENAI_API_KEY' });
    // The provider's own server, named again by the flag, still gets all of it.
    const same = (await loadEffectiveSettings(home, { baseUrl: URLS.corp }, env)).endpoint;
    expect(same.apiKey.value).toBe('corp-secret');
    expect(same.headers).toEqual({ 'X-Team': 'platform', 'X-Trace-Id': 'trace-1' });
  });

  it('refuses a profile that config.toml does not define', async () => {
    await write('config.toml', codex0169Config(URLS));
    await expect(loadEffectiveSettings(home, { profile: 'nope' }, {})).rejects.toThrow(/no \[profiles\.nope\]/);
  });

  it('knows the built-in ollama and lmstudio providers and their local ports', async () => {
    await write('config.toml', 'model_provider = "ollama"\n');
    const ollama = await loadEffectiveSettings(home, {}, {});
    expect(ollama.endpoint.baseURL).toEqual({ value: 'http://localhost:11434/v1', source: 'default' });
    await write('config.toml', 'model_provider = "lmstudio"\n');
    const lmstudio = await loadEffectiveSettings(home, {}, { CODEX_OSS_PORT: '4321' });
    expect(lmstudio.endpoint.baseURL).toEqual({ value: 'http://localhost:4321/v1', source: 'env CODEX_OSS_PORT' });
  });
});

describe('the credential', () => {
  it('uses the API key that auth.json keeps when OPENAI_API_KEY is not set', async () => {
    await write('auth.json', JSON.stringify({ OPENAI_API_KEY: 'sk-from-auth-json', tokens: null, last_refresh: null }));
    const { endpoint } = await loadEffectiveSettings(home, {}, {});
    expect(endpoint.apiKey).toEqual({ value: 'sk-from-auth-json', source: 'auth.json' });
    expect(endpoint.baseURL).toEqual({ value: 'https://api.openai.com/v1', source: 'default' });
  });

  it('prefers OPENAI_API_KEY over auth.json', async () => {
    await write('auth.json', JSON.stringify({ OPENAI_API_KEY: 'sk-from-auth-json' }));
    const { endpoint } = await loadEffectiveSettings(home, {}, { OPENAI_API_KEY: 'sk-env' });
    expect(endpoint.apiKey).toEqual({ value: 'sk-env', source: 'env OPENAI_API_KEY' });
  });

  it('names a ChatGPT login in one line and never uses its token', async () => {
    await write('auth.json', JSON.stringify(CHATGPT_LOGIN));
    const refused = loadEffectiveSettings(home, {}, {});
    await expect(refused).rejects.toThrow(/auth\.json holds a ChatGPT login/);
    const message = await refused.then(
      () => '',
      (error: Error) => error.message,
    );
    expect(message.split('\n')).toHaveLength(1);
    expect(message).not.toContain('chatgpt-access');

    // A local server needs no key: the run goes on, with the line as a notice and no token sent.
    const { endpoint } = await loadEffectiveSettings(home, { baseUrl: 'http://127.0.0.1:4/v1' }, {});
    expect(endpoint.apiKey.value).not.toContain('eyJ');
    expect(endpoint.notices).toEqual([expect.stringMatching(/holds a ChatGPT login.*not sent/)]);
  });
});

describe('config.toml errors', () => {
  it('names an unknown [memories] key and its line', async () => {
    await write('config.toml', '# mine\nmodel = "gpt-5.5"\n\n[memories]\nuse_memories = true\nmax_rolouts_per_startup = 4\n');
    await expect(loadEffectiveSettings(home, {}, {})).rejects.toThrow(
      /config\.toml line 6: unknown key memories\.max_rolouts_per_startup$/,
    );
  });

  it.each([
    ['max_rollouts_per_startup = -3', /memories\.max_rollouts_per_startup must be 0 or more/],
    ['max_raw_memories_for_consolidation = -1', /memories\.max_raw_memories_for_consolidation must be 0 or more/],
    ['max_rollouts_per_startup = 2.0', /memories\.max_rollouts_per_startup must be an integer/],
    ['max_unused_days = 1e3', /memories\.max_unused_days must be an integer/],
  ])('refuses %s, as Codex (an unsigned integer there) refuses the file', async (line, error) => {
    await write('config.toml', `[memories]\n${line}\n`);
    await expect(loadEffectiveSettings(home, {}, {})).rejects.toThrow(error);
  });

  it('clamps integers into their range, as Codex does', async () => {
    await write('config.toml', '[memories]\nmax_rollouts_per_startup = 500\nmax_raw_memories_for_consolidation = 0\n');
    const { config } = await loadEffectiveSettings(home, {}, { OPENAI_API_KEY: 'sk-test' });
    expect(config).toMatchObject({ maxRolloutsPerStartup: 128, maxRawMemoriesForGlobal: 1 });
  });

  it('names the line of a provider key with a wrong value', async () => {
    await write('config.toml', 'model_provider = "x"\n\n[model_providers.x]\nbase_url = "http://h/v1"\nwire_api = "grpc"\n');
    await expect(loadEffectiveSettings(home, {}, {})).rejects.toThrow(
      /config\.toml line 5: model_providers\.x\.wire_api must be/,
    );
  });
});
