// SIGTERM/SIGINT end `memories run` in every state: leases go back when they can, and nothing (a
// store lock held by another process) keeps the process alive past the grace period.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { type Handler, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { type Spawned, spawnMemories } from './support/cli.ts';

let home: string;
let cleanup: () => Promise<void>;
const children: Spawned[] = [];
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
  await installFixtureRollouts(home); // five eligible rollouts
});
afterEach(async () => {
  for (const { child } of children.splice(0)) child.kill('SIGKILL');
  await cleanup();
});

/** A server whose answers never come for the requests `hangs` picks; `reached` resolves at the nth one. */
async function hangingServer(hangs: (body: any) => boolean, n: number) {
  let count = 0;
  let reach!: () => void;
  const reached = new Promise<void>((resolve) => (reach = resolve));
  const scripted = scriptedHandler();
  const handler: Handler = (req) => {
    if (!hangs(req.body)) return scripted(req);
    if (++count === n) reach();
    return { hangMs: 600_000 };
  };
  return { server: await startLocalOpenAIServer({ handler }), reached };
}

const isAgent = (body: any) => Array.isArray(body?.tools) && body.tools.length > 0;

/** `memories run --phase <phase>` against a hanging server; `act` once n requests hang. */
async function whileHanging(hangs: (body: any) => boolean, n: number, phase: string, act: (cli: Spawned) => Promise<void>) {
  const { server, reached } = await hangingServer(hangs, n);
  try {
    const cli = spawnMemories(['run', '--codex-home', home, '--base-url', server.url, '--phase', phase]);
    children.push(cli);
    await reached;
    await act(cli);
  } finally {
    await server.close();
  }
}

/** A live holder: the lock is fresh, so the releases wait for it longer than the grace period. */
const holdStoreLock = () => mkdir(join(home, 'memories_state', 'jobs.json.lock'));

const status = () => createLowdbStore({ dir: join(home, 'memories_state') }).status();

it('SIGTERM while every model call hangs releases the five leases and exits with 143', async () => {
  await whileHanging(
    () => true,
    5,
    '1',
    async (cli) => {
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toEqual({ code: 143, signal: null });
      expect(cli.stderr()).toMatch(/SIGTERM: stopping, releasing in-flight jobs/);
      expect(cli.stderr()).toMatch(/stopped; in-flight jobs released/);
      const { jobs } = await status();
      expect(jobs).toHaveLength(5);
      for (const job of jobs) expect(job).toMatchObject({ status: 'pending', leaseUntil: null, retryRemaining: 3 });
    },
  );
});

it("SIGINT while phase 2's agent waits for the model gives the consolidation lease back", async () => {
  await whileHanging(isAgent, 1, 'all', async (cli) => {
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 130, signal: null });
    const { globalJob, jobs } = await status();
    expect(jobs.every((j) => j.status === 'done')).toBe(true);
    expect(globalJob).toMatchObject({ status: 'pending', leaseUntil: null, retryRemaining: 3 });
  });
});

it('exits after the grace period, saying so, when another process holds the store lock', async () => {
  await whileHanging(
    () => true,
    5,
    '1',
    async (cli) => {
      await holdStoreLock();
      cli.child.kill('SIGTERM');
      expect(await cli.exited).toEqual({ code: null, signal: 'SIGTERM' });
      expect(cli.stderr()).toMatch(/still stopping 5 s after SIGTERM: exiting without waiting/);
    },
  );
});

it('a second signal exits at once', async () => {
  await whileHanging(
    () => true,
    5,
    '1',
    async (cli) => {
      await holdStoreLock();
      cli.child.kill('SIGTERM');
      await cli.line(/SIGTERM: stopping/, 'stderr');
      cli.child.kill('SIGINT');
      expect(await cli.exited).toEqual({ code: null, signal: 'SIGINT' });
      expect(cli.stderr()).toMatch(/SIGINT again: exiting without waiting/);
      expect(cli.stderr()).not.toMatch(/still stopping/);
    },
  );
});
