// `memories token list` shows the tokens issued (id, namespaces, label, when), never a secret; `token revoke <id>`
// ends a token: the server then answers its requests `401: unknown or revoked token`.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';
import { fleetApi } from './support/fleet-api.ts';

const api = fleetApi();
const homes: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of homes) await cleanup();
});

const token = (...args: string[]) => memories(['token', ...args, '--store', api.database.url]);

it('lists every token by id with its namespaces and label, and no secret', async () => {
  const created = JSON.parse((await token('create', '--namespace', 'ci', '--label', 'runner pool', '--json')).stdout);
  const listed = await token('list');
  expect(listed.code, listed.stderr).toBe(0);
  const lines = listed.stdout.trim().split('\n');
  expect(lines[0]).toMatch(/^id +created +namespaces +label$/);
  expect(lines.find((l) => l.startsWith(created.id))).toMatch(
    new RegExp(`^${created.id}  \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ  ci +"runner pool"$`),
  );
  expect(listed.stdout).not.toContain(created.token.split('_')[2]);
  const json = JSON.parse((await token('list', '--json')).stdout);
  expect(json).toContainEqual({ id: created.id, namespaces: ['ci'], label: 'runner pool', createdAt: expect.any(Number) });
});

it('revokes a token by id: its next pull gets 401, and it leaves the list', async () => {
  const created = JSON.parse((await token('create', '--namespace', 'ci', '--json')).stdout);
  const home = await tempCodexHome();
  homes.push(home.cleanup);
  await writeFile(join(home.home, 'config.toml'), '[memories]\nversion = "v2"\n');
  const pull = () =>
    memories(['pull', '--server', api.url, '--token', created.token, '--namespace', 'ci', '--codex-home', home.home]);
  expect((await pull()).code).toBe(0);

  const revoked = await token('revoke', created.id);
  expect(revoked.code, revoked.stderr).toBe(0);
  expect(revoked.stdout).toBe(`revoked token ${created.id}\n`);
  const refused = await pull();
  expect(refused.code).toBe(1);
  expect(refused.stderr).toBe('memories: 401: unknown or revoked token\n');
  expect((await token('list')).stdout).not.toContain(created.id);
});

it('says there is no such token, with exit 1, for an id it does not hold', async () => {
  const { code, stderr } = await token('revoke', '0123456789abcdef');
  expect(code).toBe(1);
  expect(stderr).toBe('memories: no token 0123456789abcdef (`memories token list` shows the ids)\n');
});
