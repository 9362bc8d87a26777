// `memories doctor` on a Codex user's home: where each setting came from, and whether Codex will read
// what we write, with the exact config.toml lines when it will not.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { doctorSetting, memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { CORP_KEY_VAR, codex0169Config } from './support/codex-config-toml.ts';

let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
beforeAll(async () => {
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
});
afterAll(() => server.close());

describe('memories doctor on a Codex home', () => {
  it('shows where each effective setting came from', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      await writeFile(join(home, 'config.toml'), codex0169Config({ corp: server.url, local: server.url }));
      await writeFile(join(home, 'auth.json'), JSON.stringify({ OPENAI_API_KEY: 'sk-auth' }));
      const { code, stdout } = await memories(['doctor', '--codex-home', home, '--wire-api', 'chat'], {
        [CORP_KEY_VAR]: 'corp-secret',
      });
      expect(code).toBe(0);
      expect(doctorSetting(stdout, 'model_provider')).toEqual(['model_provider', 'corp', 'config.toml']);
      expect(doctorSetting(stdout, 'base_url')).toEqual(['base_url', server.url, 'config.toml model_providers.corp']);
      expect(doctorSetting(stdout, 'wire_api')).toEqual(['wire_api', 'chat', 'flag --wire-api']);
      expect(doctorSetting(stdout, 'api key')).toEqual(['api key', 'set', `env ${CORP_KEY_VAR}`]);
      expect(doctorSetting(stdout, 'memories.extract_model')).toEqual(['memories.extract_model', 'corp-extract', 'config.toml']);
      expect(doctorSetting(stdout, 'memories.max_unused_days')).toEqual(['memories.max_unused_days', '30', 'config.toml']);
      expect(stdout).not.toContain('corp-secret');
      // All 15 [memories] keys are listed.
      expect(stdout.match(/^ {2}memories\.\w+ /gm)).toHaveLength(15);
      // This home hands generation over correctly.
      expect(stdout).toMatch(/^ok\s+hand-off\s+Codex reads the v\d layout that this tool writes to /m);

      const profiled = await memories(['doctor', '--codex-home', home, '--profile', 'local']);
      expect(doctorSetting(profiled.stdout, 'model_provider')).toEqual(['model_provider', 'local-chat', 'profile local']);
      expect(doctorSetting(profiled.stdout, 'api key')).toEqual(['api key', 'set', 'auth.json']);
      expect(doctorSetting(profiled.stdout, 'features.memories')).toEqual(['features.memories', 'false', 'profile local']);
      // The profile turns memories off for Codex: the fix goes into the profile's own [features].
      expect(profiled.stdout).toContain('[profiles.local.features]\n');
    } finally {
      await cleanup();
    }
  });

  it("probes another server named by --base-url without the provider's key or headers, as run does", async () => {
    const { home, cleanup } = await tempCodexHome();
    const local = await startLocalOpenAIServer({ handler: scriptedHandler() });
    const seen = () => local.requests.map((r) => r.headers);
    try {
      await writeFile(join(home, 'config.toml'), codex0169Config({ corp: 'http://127.0.0.1:1/corp/v1', local: server.url }));
      const withKey = await memories(['doctor', '--codex-home', home, '--base-url', local.url], {
        [CORP_KEY_VAR]: 'corp-secret',
      });
      expect(withKey.stdout).not.toMatch(/FAIL\s+endpoint/);
      expect(seen().length).toBeGreaterThan(0);
      expect(JSON.stringify(seen())).not.toMatch(/corp-secret|x-team/i);
      const withoutKey = await memories(['doctor', '--codex-home', home, '--base-url', local.url]);
      expect(withoutKey.stdout).not.toMatch(/FAIL\s+endpoint/);
    } finally {
      await local.close();
      await cleanup();
    }
  });

  it('warns that a [model_providers.openai] table is ignored, as Codex ignores it', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      await writeFile(join(home, 'config.toml'), '[model_providers.openai]\nname = "mine"\nbase_url = "http://127.0.0.1:1/v1"\n');
      const { code, stdout } = await memories(['doctor', '--codex-home', home, '--base-url', server.url]);
      expect(code).toBe(0); // a warning, not a failure
      const line = stdout.split('\n').find((l) => /^WARN\s+config/.test(l));
      expect(line).toContain('[model_providers.openai] ignored: a built-in provider cannot be redefined');
    } finally {
      await cleanup();
    }
  });

  it('prints the exact config.toml lines that hand the folder over to Codex', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      await writeFile(join(home, 'config.toml'), '[memories]\nuse_memories = false\n');
      const { code, stdout } = await memories(['doctor', '--codex-home', home, '--base-url', server.url]);
      // Warnings do not fail doctor: the pipeline itself can run.
      expect(code).toBe(0);
      const line = stdout.split('\n').find((l) => /^WARN\s+hand-off/.test(l));
      expect(line).toMatch(/features\.memories is off \(default\)/);
      expect(line).toMatch(/use_memories = false/);
      expect(line).toMatch(/generate_memories is on \(default\)/);
      const after = stdout.slice(stdout.indexOf('add to config.toml')).split('\n').slice(1);
      const fix = after
        .slice(
          0,
          after.findIndex((l) => !l.startsWith('   ')),
        )
        .map((l) => l.trim());
      // `version` is added only when no Codex on PATH says which layout it reads.
      expect(fix.filter((l) => !l.startsWith('version = '))).toEqual([
        '[features]',
        'memories = true',
        '[memories]',
        'use_memories = true',
        'generate_memories = false',
      ]);
    } finally {
      await cleanup();
    }
  });
});
