// `memories doctor` lists the effective settings also when the endpoint check fails (no key, a provider's env_key
// unset, a bad flag): that is when a person most needs to see where each setting came from. The exit status stays 1.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { doctorSetting, memories } from './support/cli.ts';
import { memoryHomePerTest } from './support/memory-home.ts';

const LOCAL_PROVIDER =
  'model_provider = "local"\n\n[model_providers.local]\nname = "Local"\nbase_url = "http://127.0.0.1:9/v1"\nenv_key = "LOCAL_KEY"\n';

const t = memoryHomePerTest();

describe('memories doctor when the endpoint cannot be resolved', () => {
  it('lists the settings with no API key and no config.toml, the key row saying it is missing', async () => {
    const { code, stdout } = await memories(['doctor', '--codex-home', t.home]);
    expect(code).toBe(1);
    expect(stdout).toMatch(/^FAIL\s+endpoint\s+OPENAI_API_KEY is not set/m);
    expect(stdout).toContain('\nsettings (value, then where it came from):\n');
    expect(doctorSetting(stdout, 'model_provider')).toEqual(['model_provider', 'openai', 'default']);
    expect(doctorSetting(stdout, 'base_url')).toEqual(['base_url', 'https://api.openai.com/v1', 'default']);
    expect(doctorSetting(stdout, 'api key')).toEqual(['api key', 'missing', 'in neither env OPENAI_API_KEY nor auth.json']);
    expect(doctorSetting(stdout, 'memories.min_rollout_idle_hours')).toEqual(['memories.min_rollout_idle_hours', '6', 'default']);
    expect(stdout.match(/^ {2}memories\.\w+ /gm)).toHaveLength(15);
  });

  it("lists them, also in --json, when the provider's env_key is unset", async () => {
    await writeFile(join(t.home, 'config.toml'), LOCAL_PROVIDER);
    const { code, stdout } = await memories(['doctor', '--codex-home', t.home, '--json']);
    expect(code).toBe(1);
    const report = JSON.parse(stdout);
    expect(report.ok).toBe(false);
    expect(report.checks.find((c: { name: string }) => c.name === 'endpoint')).toEqual({
      name: 'endpoint',
      status: 'fail',
      message: "model provider 'local' reads its API key from LOCAL_KEY, which is not set",
    });
    const rows = Object.fromEntries(report.settings.map((s: { setting: string }) => [s.setting, s]));
    expect(rows.model_provider).toEqual({ setting: 'model_provider', value: 'local', source: 'config.toml' });
    expect(rows.base_url).toEqual({
      setting: 'base_url',
      value: 'http://127.0.0.1:9/v1',
      source: 'config.toml model_providers.local',
    });
    expect(rows['api key']).toEqual({ setting: 'api key', value: 'missing', source: 'env LOCAL_KEY is not set' });
    expect(rows['memories.extract_model']).toEqual({
      setting: 'memories.extract_model',
      value: 'gpt-5.3-codex-spark',
      source: 'default',
    });
  });

  it('lists them with a refused --wire-api shown as given, and a key that is set as set', async () => {
    const { code, stdout } = await memories(['doctor', '--codex-home', t.home, '--wire-api', 'grpc'], {
      OPENAI_API_KEY: 'sk-given',
    });
    expect(code).toBe(1);
    expect(stdout).toMatch(/^FAIL\s+endpoint\s+--wire-api must be 'responses' or 'chat', not 'grpc'$/m);
    expect(doctorSetting(stdout, 'wire_api')).toEqual(['wire_api', 'grpc', 'flag --wire-api']);
    expect(doctorSetting(stdout, 'api key')).toEqual(['api key', 'set', 'env OPENAI_API_KEY']);
    expect(stdout).not.toContain('sk-given');
  });
});
