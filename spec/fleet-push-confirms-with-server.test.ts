// `memories push` does not take its own record for what the server holds: after the server's database was reset it
// uploads everything again, and a wrong or revoked token fails even when there is nothing new to push.
import { afterAll, expect, it } from 'vitest';
import { createAccessToken } from '../services/fleet/access-tokens.ts';
import { ensureNamespace } from '../services/fleet/namespaces.ts';
import { migrate } from '../services/store/postgres/migrations.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';
import { fleetApi } from './support/fleet-api.ts';
import { writeRollout } from './reliability/support/harness.ts';

const api = fleetApi();
const homes: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of homes) await cleanup();
});

async function hostWithTwoRollouts(): Promise<string> {
  const { home, cleanup } = await tempCodexHome();
  homes.push(cleanup);
  await writeRollout(home, { threadId: '0199dddd-0000-7000-8000-000000000001', user: ['retry the deploy on 503'] });
  await writeRollout(home, { threadId: '0199dddd-0000-7000-8000-000000000002', user: ['pin node 20 in CI'] });
  return home;
}

const push = (home: string, token: string) =>
  memories(['push', '--server', api.url, '--token', token, '--namespace', 'ci', '--codex-home', home, '--idle-minutes', '0']);
const storedRollouts = async () =>
  (await api.database.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM memories.rollouts')).rows[0]!.n;

it('uploads again what a server whose database was reset no longer holds', async () => {
  const home = await hostWithTwoRollouts();
  expect((await push(home, api.token)).stderr).toMatch(/^pushed 2, already stored 0,/);
  expect((await push(home, api.token)).stderr).toMatch(/^pushed 0, already stored 2,/);

  // A fresh schema: the server's store starts over, as after a restore or a reset.
  await api.database.db.pool.query('DROP SCHEMA memories CASCADE');
  await migrate(api.database.db);
  await ensureNamespace(api.database.db, 'ci', 'v2');
  const { token } = await createAccessToken(api.database.db, ['ci'], 'after reset');
  expect(await storedRollouts()).toBe(0);

  const again = await push(home, token);
  expect(again.code, again.stderr).toBe(0);
  expect(again.stderr).toMatch(/^pushed 2, already stored 0,/);
  expect(await storedRollouts()).toBe(2);
});

it('fails with the server’s 401 line on a wrong token even when there is nothing new to push', async () => {
  const home = await hostWithTwoRollouts();
  const { token } = await createAccessToken(api.database.db, ['ci'], 'second host');
  expect((await push(home, token)).code).toBe(0);
  const wrong = await push(home, 'mem_not-a-token');
  expect(wrong.code).toBe(1);
  expect(wrong.stderr).toBe('memories: 401: unknown or revoked token\n');
});
