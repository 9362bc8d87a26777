// The fleet's HTTP API in the test process, on a database of the spec's own (no worker): for the specs that run
// `memories push` and `pull` against it. One namespace `ci` (v2) and a token for it.
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll } from 'vitest';
import { createAccessToken } from '../../services/fleet/access-tokens.ts';
import { createFleetServer, type FleetServerOptions } from '../../services/fleet/http-server.ts';
import { ensureNamespace } from '../../services/fleet/namespaces.ts';
import { silentLogger } from '../../services/logger.ts';
import { tempCodexHome } from './codex-home.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

export interface FleetApi {
  readonly database: TestDatabase;
  readonly url: string;
  readonly token: string;
  /** `--server URL --token T --namespace ci`. */
  readonly client: string[];
}

export function fleetApi(): FleetApi {
  let database: TestDatabase;
  let app: FastifyInstance;
  let url = '';
  let token = '';
  let cleanup: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    const work = await tempCodexHome();
    cleanup = work.cleanup;
    await ensureNamespace(database.db, 'ci', 'v2');
    token = (await createAccessToken(database.db, ['ci'], 'spec')).token;
    ({ app, url } = await listenFleetServer({ db: database.db, workDir: work.home, log: silentLogger }));
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await database?.drop();
    await cleanup();
  });
  return {
    get database() {
      return database;
    },
    get url() {
      return url;
    },
    get token() {
      return token;
    },
    get client() {
      return ['--server', url, '--token', token, '--namespace', 'ci'];
    },
  };
}

/** A fleet HTTP server listening on a free loopback port, and its URL. */
export async function listenFleetServer(options: FleetServerOptions): Promise<{ app: FastifyInstance; url: string }> {
  const app = createFleetServer(options);
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}
