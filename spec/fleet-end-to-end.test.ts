// Fleet memory end to end, as an ephemeral CI host uses it: `memories serve` on a real PostgreSQL (with its worker
// and the bundled model server), `memories push --wait` from one host, `memories pull` on another, whose next
// Codex session then reads the fleet's memory (`memories read-path`).
import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createAccessToken } from '../services/fleet/access-tokens.ts';
import { ensureNamespace } from '../services/fleet/namespaces.ts';
import { type LocalOpenAIServer, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { memories, type Spawned, spawnMemories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { writeRollout } from './reliability/support/harness.ts';

let database: TestDatabase;
let model: LocalOpenAIServer;
let serve: Spawned | null = null;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  database = await createTestDatabase();
  model = await startLocalOpenAIServer({ handler: scriptedHandler() });
}, 120_000);

afterAll(async () => {
  serve?.child.kill('SIGKILL');
  await model?.close();
  await database?.drop();
  for (const cleanup of cleanups) await cleanup();
});

async function home(): Promise<string> {
  const made = await tempCodexHome();
  cleanups.push(made.cleanup);
  // The Codex of this host reads the v2 folder, as Codex 0.169 does by default.
  await writeFile(join(made.home, 'config.toml'), '[memories]\nversion = "v2"\n');
  return made.home;
}

it('pushes, waits for the consolidation and pulls the memory folder a new session reads', async () => {
  const work = await home();
  serve = spawnMemories(
    ['serve', '--store', database.url, '--port', '0', '--work-dir', work, '--lease-seconds', '10', '--concurrency', '4'],
    { OPENAI_BASE_URL: model.url, OPENAI_API_KEY: 'test' },
  );
  const server = (await serve.line(/^listening on (http:\S+)/)).replace('listening on ', '').trim();
  await ensureNamespace(database.db, 'ci', 'v2');
  const { token } = await createAccessToken(database.db, ['ci'], 'e2e');

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
}, 120_000);
