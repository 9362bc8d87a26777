// The `memories` bin as a user runs it: a child process, flags, stdout JSON, exit codes.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { discoverRollouts, selectEligible } from '../services/rollouts/discovery.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';

let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
beforeAll(async () => {
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
});
afterAll(() => server.close());

describe('memories run', () => {
  it('prints one JSON summary of phase 1 over the fixture corpus', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      const { code, stdout } = await memories(['run', '--codex-home', home, '--phase', '1', '--base-url', server.url, '--json']);
      expect(code).toBe(0);
      const summary = JSON.parse(stdout);
      expect(summary).toMatchObject({ claimed: 5, failed: 0, skipped: 0, phase2: null });
      expect(summary.succeeded + summary.succeededNoOutput).toBe(5);
      expect(summary.tokens.total).toBeGreaterThan(0);
      expect(summary.elapsedMs).toBeGreaterThan(0);

      const again = JSON.parse(
        (await memories(['run', '--codex-home', home, '--phase', '1', '--base-url', server.url, '--json'])).stdout,
      );
      expect(again).toMatchObject({ claimed: 0, skipped: 5 });
    } finally {
      await cleanup();
    }
  });

  it("says why eligible rollouts were left: another run's lease, a retry delay, or retries used up", async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      // A run killed outright still holds two leases; another's job failed and waits out its delay.
      const store = createLowdbStore({ dir: join(home, 'memories_state') });
      const { threads } = await discoverRollouts(home);
      const now = Math.floor(Date.now() / 1000);
      const [a, b, c, d] = selectEligible(threads, { nowSeconds: now, maxAgeDays: 30, minIdleHours: 6 });
      for (const t of [a!, b!]) await store.tryClaimStage1Job(t, 'host:4242', 3_600, 64);
      const failing = await store.tryClaimStage1Job(c!, 'host:4343', 3_600, 64);
      if (failing.kind !== 'claimed') throw new Error('no claim');
      await store.markStage1Failed(c!.threadId, failing.ownershipToken, 'model timeout', 3_600);
      // A fourth failed until no retry was left.
      for (let claim = await store.tryClaimStage1Job(d!, 'host:4444', 3_600, 64); claim.kind === 'claimed'; ) {
        await store.markStage1Failed(d!.threadId, claim.ownershipToken, 'bad request', 0);
        claim = await store.tryClaimStage1Job(d!, 'host:4444', 3_600, 64);
      }

      const { code, stdout } = await memories(['run', '--codex-home', home, '--phase', '1', '--base-url', server.url]);
      expect(code).toBe(0);
      expect(stdout).toContain("2 eligible rollout(s) held by another run's lease");
      expect(stdout).toContain('1 rollout(s) wait out a retry delay after failing; --retry-failed retries them now');
      expect(stdout).toContain('1 rollout(s) failed every retry and are no longer tried; --retry-failed makes them claimable');
    } finally {
      await cleanup();
    }
  });

  it('reads [memories] from config.toml', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      await writeFile(join(home, 'config.toml'), '[memories]\nmax_rollouts_per_startup = 2\n');
      const { stdout } = await memories(['run', '--codex-home', home, '--phase', '1', '--base-url', server.url, '--json']);
      expect(JSON.parse(stdout).claimed).toBe(2);
    } finally {
      await cleanup();
    }
  });

  it('exits non-zero with a one-line reason on a usage or configuration error', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      const noKey = await memories(['run', '--codex-home', home]);
      expect(noKey.code).not.toBe(0);
      expect(noKey.stderr.trim().split('\n')).toHaveLength(1);
      expect(noKey.stderr).toMatch(/OPENAI_API_KEY/);

      const badPhase = await memories(['run', '--codex-home', home, '--phase', '3', '--base-url', server.url]);
      expect(badPhase.code).not.toBe(0);
      expect(badPhase.stderr).toMatch(/--phase/);

      await writeFile(join(home, 'config.toml'), '[memories]\nmax_rollouts_per_startup = "many"\n');
      const badConfig = await memories(['run', '--codex-home', home, '--base-url', server.url]);
      expect(badConfig.code).not.toBe(0);
      expect(badConfig.stderr).toMatch(/max_rollouts_per_startup/);
    } finally {
      await cleanup();
    }
  });
});

describe('memories run --phase all', () => {
  it('adds a phase2 object with the selection counts, tokens and elapsed time', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      const { code, stdout } = await memories(['run', '--codex-home', home, '--base-url', server.url, '--json']);
      expect(code).toBe(0);
      const { phase2 } = JSON.parse(stdout);
      expect(phase2).toMatchObject({ status: 'succeeded', selected: 5, added: 5, retained: 0, removed: 0 });
      expect(phase2.tokens.total).toBeGreaterThan(0);
      expect(phase2.elapsedMs).toBeGreaterThan(0);
    } finally {
      await cleanup();
    }
  });

  it('runs both phases over the Chat Completions wire', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      const args = ['run', '--codex-home', home, '--base-url', server.url, '--wire-api', 'chat', '--json'];
      const summary = JSON.parse((await memories(args)).stdout);
      expect(summary).toMatchObject({ claimed: 5, failed: 0, phase2: { status: 'succeeded', selected: 5 } });
      expect(server.requests.some((r) => r.path.endsWith('/chat/completions'))).toBe(true);
    } finally {
      await cleanup();
    }
  });
});
