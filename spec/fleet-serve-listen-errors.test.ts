// `memories serve` on an address it cannot listen on says so in one line (which address, and why) and exits 1,
// with no stack trace: the command line was right, the host was not.
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';

let database: TestDatabase;
let taken: Server;
let work: Awaited<ReturnType<typeof tempCodexHome>>;

beforeAll(async () => {
  database = await createTestDatabase();
  work = await tempCodexHome();
  taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
}, 120_000);

afterAll(async () => {
  await new Promise((resolve) => taken?.close(resolve));
  await database?.drop();
  await work?.cleanup();
});

const serve = (...args: string[]) =>
  memories(['serve', '--store', database.url, '--no-worker', '--work-dir', work.home, ...args]);

it('says the address is in use when another process listens on the port', async () => {
  const port = (taken.address() as AddressInfo).port;
  const { code, stdout, stderr } = await serve('--port', String(port));
  expect(code).toBe(1);
  expect(stdout).toBe('');
  expect(stderr).toBe(
    `memories: cannot listen on 127.0.0.1:${port}: the address is in use (another process listens there; choose another --port)\n`,
  );
});

it('says it cannot assign an address no interface of the host has', async () => {
  const { code, stderr } = await serve('--port', '0', '--host', '192.0.2.1');
  expect(code).toBe(1);
  expect(stderr).toBe(
    'memories: cannot listen on 192.0.2.1:0: cannot assign that address (no interface of this host has it; check --host)\n',
  );
});
