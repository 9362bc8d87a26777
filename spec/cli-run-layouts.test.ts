// `memories run` with no [memories] version writes the layout the Codex on PATH reads: a Codex 0.169 (a real
// `codex` script printing its version) means memories_v2/, no Codex means memories/.
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FIXTURE_DIR, installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let cleanup: () => Promise<void>;
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
  await installFixtureRollouts(home);
});
afterEach(async () => {
  await server.close();
  await cleanup();
});

const run = (PATH: string) => memories(['run', '--codex-home', home, '--base-url', server.url], { PATH });

describe('memories run without [memories] version', () => {
  it('writes memories_v2/ when the codex on PATH is 0.169', async () => {
    await writeFile(join(home, 'codex'), '#!/bin/sh\necho "codex-cli 0.169.0"\n');
    await chmod(join(home, 'codex'), 0o755);
    const result = await run(home);
    expect(result.code).toBe(0);
    const summary = await readFile(join(home, 'memories_v2', 'memory_summary.md'), 'utf8');
    expect(summary.split('\n')[0]).toBe('v1');
    expect(existsSync(join(home, 'memories_v2', 'raw_memories.md'))).toBe(false);
    expect(existsSync(join(home, 'memories'))).toBe(false);
  });

  it('doctor warns when a Codex found on PATH would leave the memory earlier runs wrote behind', async () => {
    expect((await run(join(home, 'no-such-dir'))).code).toBe(0); // no Codex: memories/ (v1)
    await writeFile(join(home, 'codex'), '#!/bin/sh\necho "codex-cli 0.169.0"\n');
    await chmod(join(home, 'codex'), 0o755);
    const doctor = await memories(['doctor', '--codex-home', home, '--base-url', server.url], { PATH: home });
    expect(doctor.code).toBe(0);
    const line = doctor.stdout.split('\n').find((l) => /^WARN\s+hand-off/.test(l));
    expect(line).toContain(`${join(home, 'memories')} holds the v1 memory earlier runs wrote`);
    expect(doctor.stdout).toMatch(/^\s+version = "v1"$/m);
  });

  it('writes memories/ when no codex is on PATH', async () => {
    const result = await run(join(home, 'no-such-dir'));
    expect(result.code).toBe(0);
    expect(existsSync(join(home, 'memories', 'raw_memories.md'))).toBe(true);
    expect(existsSync(join(home, 'memories_v2'))).toBe(false);
    expect(result.stderr).not.toContain('warning'); // the newest session's Codex (0.58) reads memories/ too
  });

  it("warns, with no codex on PATH, when the newest session's Codex reads memories_v2/ by default", async () => {
    // A desktop or editor Codex 0.169 keeps its own binary: only its sessions tell its version.
    const text = await readFile(join(FIXTURE_DIR, 'single-turn-with-tool-call.jsonl'), 'utf8');
    const day = join(home, 'sessions', '2099', '01', '01');
    await mkdir(day, { recursive: true });
    await writeFile(join(day, 'rollout-2099-01-01T00-00-00-01a20de4-0000-7000-8000-000000000169.jsonl'), text);
    const result = await run(join(home, 'no-such-dir'));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(
      `memories: warning: writing the v1 layout to ${join(home, 'memories')} (no [memories] version and no codex on PATH), ` +
        `but the newest session was written by Codex 0.169.0, which reads ${join(home, 'memories_v2')} by default`,
    );
    await writeFile(join(home, 'config.toml'), '[memories]\nversion = "v1"\n');
    expect((await run(join(home, 'no-such-dir'))).stderr).not.toContain('warning');
  });
});
