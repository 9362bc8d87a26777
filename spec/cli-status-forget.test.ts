// `memories status` and `memories forget` as a user runs them: child processes of the bin.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';

let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
beforeAll(async () => {
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
});
afterAll(() => server.close());

describe('memories status', () => {
  it('shows an empty store without failing', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      const { code, stdout } = await memories(['status', '--codex-home', home]);
      expect(code).toBe(0);
      expect(stdout).toMatch(/stage-1 jobs\s+0 total/);
      expect(stdout).toMatch(/last consolidation\s+never/);
      const json = JSON.parse((await memories(['status', '--codex-home', home, '--json'])).stdout);
      expect(json.stage1.total).toBe(0);
      expect(json.consolidation).toBeNull();
    } finally {
      await cleanup();
    }
  });

  it('prints a table of job states and the watermark, and the same facts as JSON', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      expect((await memories(['run', '--codex-home', home, '--base-url', server.url, '--json'])).code).toBe(0);

      const table = await memories(['status', '--codex-home', home]);
      expect(table.code).toBe(0);
      for (const label of ['stage-1 jobs', 'next retry', 'lease owners', 'outputs', 'last consolidation', 'watermark']) {
        expect(table.stdout).toContain(label);
      }
      expect(table.stdout).toMatch(/pending 0, running 0, done 5, error 0/);
      // Watermarks are shown as times, absolute and relative (the raw seconds stay in --json).
      const time = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ \((?:in )?\d+[smhd]( ago)?\)`;
      expect(table.stdout).toMatch(new RegExp(String.raw`watermark\s+input ${time}, consolidated ${time} \(clean\)`));
      expect(table.stdout).toMatch(/last consolidation\s+succeeded at/);
      // One row per job under the header.
      expect(table.stdout).toMatch(/THREAD\s+STATE\s+RETRIES LEFT/);
      expect(table.stdout.split('\n').filter((l) => /^[0-9a-f-]{36}\s+done\b/.test(l))).toHaveLength(5);

      const json = await memories(['status', '--codex-home', home, '--json']);
      expect(json.code).toBe(0);
      const report = JSON.parse(json.stdout);
      expect(report.stage1.byState).toEqual({ pending: 0, running: 0, done: 5, error: 0 });
      expect(report.stage1.jobs).toHaveLength(5);
      expect(report.outputs.count).toBe(report.outputs.threads.length);
      expect(report.consolidation).toMatchObject({ status: 'done', dirty: false });
      expect(report.consolidation.inputWatermark).toBe(report.consolidation.lastSuccessWatermark);
      expect(report.stage1.leaseOwners).toEqual([]);
    } finally {
      await cleanup();
    }
  });

  it('reports a corrupt store in one line and exits non-zero', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await memories(['status', '--codex-home', home]);
      await writeFile(join(home, 'memories_state', 'jobs.json'), '{ not json');
      const { code, stderr } = await memories(['status', '--codex-home', home]);
      expect(code).not.toBe(0);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/jobs\.json/);
    } finally {
      await cleanup();
    }
  });
});

/** The thread ids in the summaries' `thread_id:` headers (Codex 0.169 names the files by time and hash). */
async function summarisedThreads(dir: string): Promise<string[]> {
  const texts = await Promise.all((await readdir(dir)).map((name) => readFile(join(dir, name), 'utf8')));
  return texts.map((text) => text.split('\n', 1)[0]!.replace(/^thread_id: /, ''));
}

describe('memories forget', () => {
  // Eight real CLI starts: a limit for a loaded machine, not a speed assertion.
  it('removes the output, marks consolidation dirty, and the next phase 2 drops the memory', { timeout: 120_000 }, async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      expect((await memories(['run', '--codex-home', home, '--base-url', server.url, '--json'])).code).toBe(0);
      const before = JSON.parse((await memories(['status', '--codex-home', home, '--json'])).stdout);
      const victim: string = before.outputs.threads[0].threadId;
      const summaries = join(home, 'memories', 'rollout_summaries');
      expect(await summarisedThreads(summaries)).toContain(victim);
      expect(await readFile(join(home, 'memories', 'raw_memories.md'), 'utf8')).toContain(victim);

      const forget = await memories(['forget', victim, '--codex-home', home]);
      expect(forget.code).toBe(0);
      expect(forget.stdout).toContain(victim);

      const after = JSON.parse((await memories(['status', '--codex-home', home, '--json'])).stdout);
      expect(after.outputs.count).toBe(before.outputs.count - 1);
      expect(after.outputs.threads.map((t: { threadId: string }) => t.threadId)).not.toContain(victim);
      expect(after.consolidation.dirty).toBe(true);
      expect((await memories(['status', '--codex-home', home])).stdout).toMatch(/watermark\s+.*\(dirty/);

      const phase2 = await memories(['run', '--codex-home', home, '--phase', '2', '--base-url', server.url, '--json']);
      expect(phase2.code).toBe(0);
      expect(JSON.parse(phase2.stdout).phase2).toMatchObject({
        status: 'succeeded',
        removed: 1,
        selected: before.outputs.count - 1,
      });
      expect(await summarisedThreads(summaries)).not.toContain(victim);
      expect(await readFile(join(home, 'memories', 'raw_memories.md'), 'utf8')).not.toContain(victim);
      const settled = JSON.parse((await memories(['status', '--codex-home', home, '--json'])).stdout);
      expect(settled.consolidation.dirty).toBe(false);

      // Forgotten is forgotten: phase 1 does not extract the unchanged rollout again.
      const rerun = JSON.parse(
        (await memories(['run', '--codex-home', home, '--phase', '1', '--base-url', server.url, '--json'])).stdout,
      );
      expect(rerun.claimed).toBe(0);

      const log = await readFile(join(home, 'log', 'memories.log'), 'utf8');
      expect(log).toContain(`"threadId":"${victim}"`);
    } finally {
      await cleanup();
    }
  });

  it('exits non-zero with a one-line reason for an unknown thread id', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      const { code, stdout, stderr } = await memories(['forget', '00000000-0000-0000-0000-000000000000', '--codex-home', home]);
      expect(code).not.toBe(0);
      expect(stdout).toBe('');
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/no stage-1 output for thread 00000000-0000-0000-0000-000000000000/);

      const missingArg = await memories(['forget', '--codex-home', home]);
      expect(missingArg.code).not.toBe(0);
      expect(missingArg.stderr).toMatch(/thread-id/);
    } finally {
      await cleanup();
    }
  });
});
