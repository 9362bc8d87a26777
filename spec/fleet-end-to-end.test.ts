// Fleet memory end to end, as an ephemeral CI host uses it: `memories serve` on a real PostgreSQL (with its worker
// and the bundled model server), `memories push --wait` from one host, `memories pull` on another, whose next
// Codex session then reads the fleet's memory (`memories read-path`).
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { createAccessToken } from '../services/fleet/access-tokens.ts';
import { ensureNamespace } from '../services/fleet/namespaces.ts';
import { memories, type Spawned, spawnMemories } from './support/cli.ts';
import { fleetTestBed } from './support/fleet-bed.ts';
import { writeRollout } from './reliability/support/harness.ts';

const bed = fleetTestBed();
let serve: Spawned | null = null;

// Registered after the bed's, so it runs before the model server and the database go.
afterAll(() => {
  serve?.child.kill('SIGKILL');
});
const home = () => bed.home();

it('pushes, waits for the consolidation and pulls the memory folder a new session reads', async () => {
  const work = await home();
  serve = spawnMemories(
    ['serve', '--store', bed.database.url, '--port', '0', '--work-dir', work, '--lease-seconds', '10', '--concurrency', '4'],
    { OPENAI_BASE_URL: bed.model.url, OPENAI_API_KEY: 'test' },
  );
  const server = (await serve.line(/^listening on (http:\S+)/)).replace('listening on ', '').trim();
  await ensureNamespace(bed.database.db, 'ci', 'v2');
  const { token } = await createAccessToken(bed.database.db, ['ci'], 'e2e');

  const runner = await home();
  const ids = ['0199bbbb-0000-7000-8000-000000000001', '0199bbbb-0000-7000-8000-000000000002'];
  await writeRollout(runner, { threadId: ids[0], user: ['make the deploy script retry on 503'] });
  await writeRollout(runner, { threadId: ids[1], user: ['pin node 20 in the CI image'] });
  const client = ['--server', server, '--token', token, '--namespace', 'ci'];
  const pushed = await memories([
    'push',
    ...client,
    '--codex-home',
    runner,
    '--idle-minutes',
    '0',
    '--wait',
    '--wait-timeout',
    '60',
  ]);
  expect(pushed.code, pushed.stderr).toBe(0);
  expect(pushed.stderr).toContain('pushed 2, already stored 0');
  expect(pushed.stderr).toMatch(/consolidated: revision 1 holds everything pushed/);
  // The worker logs each claim with its latency (what bench §9 reads): both rollouts were claimed, once.
  const claims = (await readFile(join(work, 'log', 'memories.log'), 'utf8'))
    .split('\n')
    .filter((line) => line.includes('"stage-1 claim"'))
    .map((line) => JSON.parse(line) as { namespace: string; candidates: number; claimed: number; ms: number });
  expect(claims.reduce((n, c) => n + c.claimed, 0)).toBe(2);
  for (const c of claims) expect(c).toMatchObject({ namespace: 'ci', candidates: expect.any(Number), ms: expect.any(Number) });

  const fresh = await home();
  const pulled = await memories(['pull', ...client, '--codex-home', fresh]);
  expect(pulled.code, pulled.stderr).toBe(0);
  expect(pulled.stdout).toMatch(/^revision 1: \d+ file\(s\)/);
  const root = join(fresh, 'memories_v2');
  expect((await lstat(root)).isSymbolicLink()).toBe(true);
  expect((await readdir(join(root, 'rollout_summaries'))).filter((f) => f.endsWith('.md'))).toHaveLength(2);
  const summary = await readFile(join(root, 'memory_summary.md'), 'utf8');
  for (const id of ids) expect(summary).toContain(id);

  const readPath = await memories(['read-path', '--codex-home', fresh]);
  expect(readPath.code, readPath.stderr).toBe(0);
  expect(readPath.stdout).toContain(ids[0]);

  const again = await memories(['pull', ...client, '--codex-home', fresh]);
  expect(again.stdout).toMatch(/^revision 1 is already here/);

  // A new runner with no Codex on PATH (its default would be v1): --init creates the home and says the layout.
  const runnerHome = join(await home(), 'new-runner');
  const init = await memories(['pull', ...client, '--init', '--codex-home', runnerHome], { PATH: '/nonexistent' });
  expect(init.code, init.stderr).toBe(0);
  expect(init.stdout).toMatch(/^revision 1: \d+ file\(s\)/);
  expect(await readFile(join(runnerHome, 'config.toml'), 'utf8')).toBe(
    '[features]\nmemories = true\n\n[memories]\nversion = "v2"\ngenerate_memories = false\n',
  );
  expect((await memories(['read-path', '--codex-home', runnerHome], { PATH: '/nonexistent' })).stdout).toContain(ids[0]);
}, 120_000);
