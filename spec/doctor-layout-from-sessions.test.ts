// With no [memories] version and no codex on PATH (a desktop or editor build keeps its own binary), doctor reads the
// same evidence `run` warns on, the Codex version of the newest session, and proposes the layout that Codex reads.
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { memories } from './support/cli.ts';
import { memoryHomePerTest } from './support/memory-home.ts';
import { V169_ROLLOUTS } from './support/shared.ts';

const t = memoryHomePerTest();

/** Codex 0.169's sessions, as its day folder holds them. */
async function install0169Sessions(): Promise<void> {
  const day = join(t.home, 'sessions', '2026', '01', '01');
  await mkdir(day, { recursive: true });
  const names = (await readdir(V169_ROLLOUTS)).filter((n) => n.endsWith('.jsonl')).sort();
  for (const [i, name] of names.entries()) {
    const id = `01a20de4-0000-7000-8000-00000000016${i}`;
    await copyFile(join(V169_ROLLOUTS, name), join(day, `rollout-2026-01-01T00-00-0${i}-${id}.jsonl`));
  }
}

const NO_CODEX = () => ({ PATH: join(t.home, 'no-such-dir') });
const doctor = () => memories(['doctor', '--codex-home', t.home, '--base-url', t.server.url], NO_CODEX());
const handoffLine = (stdout: string) => stdout.split('\n').find((l) => /^WARN\s+hand-off\s/.test(l)) ?? '';
const fixLines = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => /^\s+version = /.test(l))
    .map((l) => l.trim());

describe('doctor with no [memories] version and no codex on PATH', () => {
  it("proposes the v2 line that run's warning points to when the newest session is Codex 0.169's", async () => {
    await install0169Sessions();
    const run = await memories(['run', '--codex-home', t.home, '--base-url', t.server.url, '--phase', '1'], NO_CODEX());
    expect(run.stderr).toContain('which reads');
    expect(run.stderr).toContain(`${join(t.home, 'memories_v2')} by default; set [memories] version in config.toml`);

    const { stdout } = await doctor();
    expect(handoffLine(stdout)).toContain(
      'no [memories] version and no codex on PATH; the newest session was written by Codex 0.169.0, ' +
        `which reads the v2 layout (${join(t.home, 'memories_v2')}) by default`,
    );
    expect(handoffLine(stdout)).not.toContain('cannot tell which layout');
    expect(fixLines(stdout)).toEqual(['version = "v2"']);
  });

  it("proposes v1, saying why, when the newest session's Codex reads v1", async () => {
    await installFixtureRollouts(t.home);
    const { stdout } = await doctor();
    expect(handoffLine(stdout)).toMatch(
      /no \[memories\] version and no codex on PATH; the newest session was written by Codex \d+\.\d+\.\d+, which reads the v1 layout \(/,
    );
    expect(fixLines(stdout)).toEqual(['version = "v1"']);
  });

  it('still says it cannot tell, and proposes the layout it writes, with no session to go by', async () => {
    const { stdout } = await doctor();
    expect(handoffLine(stdout)).toContain(
      'no [memories] version and no codex on PATH: cannot tell which layout your Codex reads',
    );
    expect(fixLines(stdout)).toEqual(['version = "v1"']);
  });
});
