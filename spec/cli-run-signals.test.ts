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

function run(url: string, phase = '1') {
  const spawned = spawnMemories(['run', '--codex-home', home, '--base-url', url, '--phase', phase]);
  children.push(spawned);
  return spawned;
}

const status = () => createLowdbStore({ dir: join(home, 'memories_state') }).status();

it('SIGTERM while every model call hangs releases the five leases and exits with 143', async () => {
  const { server, reached } = await hangingServer(() => true, 5);
  try {
    const cli = run(server.url);
    await reached;
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: 143, signal: null });
    expect(cli.stderr()).toMatch(/SIGTERM: stopping, releasing in-flight jobs/);
    expect(cli.stderr()).toMatch(/stopped; in-flight jobs released/);
    const { jobs } = await status();
    expect(jobs).toHaveLength(5);
    for (const job of jobs) expect(job).toMatchObject({ status: 'pending', leaseUntil: null, retryRemaining: 3 });
  } finally {
    await server.close();
  }
});

it("SIGINT while phase 2's agent waits for the model gives the consolidation lease back", async () => {
  const { server, reached } = await hangingServer(isAgent, 1);
  try {
    const cli = run(server.url, 'all');
    await reached;
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: 130, signal: null });
    const { globalJob, jobs } = await status();
    expect(jobs.every((j) => j.status === 'done')).toBe(true);
    expect(globalJob).toMatchObject({ status: 'pending', leaseUntil: null, retryRemaining: 3 });
  } finally {
    await server.close();
  }
});

it('exits after the grace period, saying so, when another process holds the store lock', async () => {
  const { server, reached } = await hangingServer(() => true, 5);
  try {
    const cli = run(server.url);
    await reached;
    // A live holder: the lock is fresh, so the releases wait for it longer than the grace period.
    await mkdir(join(home, 'memories_state', 'jobs.json.lock'));
    cli.child.kill('SIGTERM');
    expect(await cli.exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(cli.stderr()).toMatch(/still stopping 5 s after SIGTERM: exiting without waiting/);
  } finally {
    await server.close();
  }
});

it('a second signal exits at once', async () => {
  const { server, reached } = await hangingServer(() => true, 5);
  try {
    const cli = run(server.url);
    await reached;
    await mkdir(join(home, 'memories_state', 'jobs.json.lock'));
    cli.child.kill('SIGTERM');
    await cli.line(/SIGTERM: stopping/, 'stderr');
    cli.child.kill('SIGINT');
    expect(await cli.exited).toEqual({ code: null, signal: 'SIGINT' });
    expect(cli.stderr()).toMatch(/SIGINT again: exiting without waiting/);
    expect(cli.stderr()).not.toMatch(/still stopping/);
  } finally {
    await server.close();
  }
});
