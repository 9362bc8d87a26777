// The fleet's ingest API on a real PostgreSQL (a database of this file's own): a rollout pushed by two hosts is
// stored once, secrets never leave the host, a token works for its namespaces only, and every bad request gets a
// 4xx with a one-line reason and changes nothing.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessToken } from '../services/fleet/access-tokens.ts';
import { FleetClient } from '../services/fleet/fleet-client.ts';
import { ensureNamespace } from '../services/fleet/namespaces.ts';
import { pushRollouts } from '../services/fleet/push.ts';
import { silentLogger } from '../services/logger.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { listenFleetServer } from './support/fleet-api.ts';
import { createTestDatabase, type TestDatabase } from './support/postgres.ts';
import { writeRollout } from './reliability/support/harness.ts';

const NOW = Date.now();
let database: TestDatabase;
let app: FastifyInstance;
let base: string;
let tokenA: string;
let tokenB: string;
const homes: Array<() => Promise<void>> = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const work = await tempCodexHome();
  homes.push(work.cleanup);
  await ensureNamespace(database.db, 'team-a', 'v2');
  await ensureNamespace(database.db, 'team-b', 'v2');
  tokenA = (await createAccessToken(database.db, ['team-a'], 'a')).token;
  tokenB = (await createAccessToken(database.db, ['team-b'], 'b')).token;
  ({ app, url: base } = await listenFleetServer({
    db: database.db,
    workDir: work.home,
    log: silentLogger,
    maxRolloutBytes: 64 * 1024,
  }));
}, 120_000);

afterAll(async () => {
  await app?.close();
  await database?.drop();
  for (const cleanup of homes) await cleanup();
});

async function host(threadId: string, user: string[]) {
  const { home, cleanup } = await tempCodexHome();
  homes.push(cleanup);
  // One clock for every host: the same session written on two hosts is the same bytes.
  await writeRollout(home, { threadId, user }, NOW);
  return home;
}

const push = (home: string, token = tokenA, namespace = 'team-a', hostId = 'host-1') =>
  pushRollouts({
    client: new FleetClient(base, token, namespace),
    server: base,
    namespace,
    codexHome: home,
    hostId,
    idleMinutes: 0,
    codexVersion: '0.169.0',
  });

const rows = async (sql: string, params: unknown[] = []) => (await database.db.pool.query(sql, params)).rows;

describe('ingest', () => {
  it('stores a rollout that two hosts push once, and acknowledges the second push without a write', async () => {
    const id = '0199aaaa-0000-7000-8000-000000000001';
    const first = await push(await host(id, ['make the release script idempotent']), tokenA, 'team-a', 'ci-runner-1');
    const second = await push(await host(id, ['make the release script idempotent']), tokenA, 'team-a', 'ci-runner-2');
    expect(first).toMatchObject({ uploaded: 1, alreadyStored: 0 });
    expect(second).toMatchObject({ uploaded: 0, alreadyStored: 1, hashes: first.hashes });
    const stored = await rows('SELECT host_id FROM memories.rollouts WHERE namespace = $1 AND session_id = $2', ['team-a', id]);
    expect(stored).toEqual([{ host_id: 'ci-runner-1' }]);
  });

  it('redacts secrets on the host, so the stored rollout holds none', async () => {
    const secret = 'sk-proj-Zx81Qw92Lm44Pk77Rt55Yu33Io11';
    const home = await host('0199aaaa-0000-7000-8000-000000000002', [`deploy with OPENAI_API_KEY=${secret} please`]);
    const summary = await push(home);
    expect(summary.uploaded).toBe(1);
    const [row] = await rows('SELECT content FROM memories.rollouts WHERE sha256 = $1', [summary.hashes[0]]);
    const text = (row.content as Buffer).toString('utf8');
    expect(text).not.toContain(secret);
    expect(text).toContain('[REDACTED_SECRET]');
    expect(
      createHash('sha256')
        .update(row.content as Buffer)
        .digest('hex'),
    ).toBe(summary.hashes[0]);
  });

  it('resumes: a second push of an unchanged home uploads nothing', async () => {
    const home = await host('0199aaaa-0000-7000-8000-000000000003', ['rename the flaky test']);
    expect((await push(home)).uploaded).toBe(1);
    expect(await push(home)).toMatchObject({ uploaded: 0, alreadyStored: 1 });
  });
});

describe('access', () => {
  it('refuses a token of namespace B on namespace A, for writes and reads, and changes nothing', async () => {
    const before = await rows('SELECT count(*)::int AS n FROM memories.rollouts');
    const home = await host('0199aaaa-0000-7000-8000-000000000004', ['add retries to the uploader']);
    await expect(push(home, tokenB, 'team-a')).rejects.toThrow('403: this token is not valid for namespace team-a');
    for (const path of ['/memory', '/status']) {
      const response = await fetch(`${base}/v1/namespaces/team-a${path}`, { headers: { authorization: `Bearer ${tokenB}` } });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ error: 'this token is not valid for namespace team-a' });
    }
    expect(await rows('SELECT count(*)::int AS n FROM memories.rollouts')).toEqual(before);
  });

  it('answers every bad request with a 4xx and a one-line reason, storing nothing', async () => {
    const before = await rows('SELECT count(*)::int AS n FROM memories.rollouts');
    const content = Buffer.from(
      '{"type":"session_meta","payload":{"id":"0199aaaa-0000-7000-8000-00000000000f","source":"cli"}}\n',
    );
    const sha = createHash('sha256').update(content).digest('hex');
    const manifest = {
      hostId: 'h',
      namespace: 'team-a',
      sessionId: '0199aaaa-0000-7000-8000-00000000000f',
      sha256: sha,
      codexVersion: '0.169.0',
      fileName: 'rollout-x.jsonl',
      updatedAt: 1_800_000_000,
    };
    const put = (init: { token?: string; path?: string; body?: BodyInit; headers?: Record<string, string> }) =>
      fetch(`${base}${init.path ?? `/v1/namespaces/team-a/rollouts/${sha}`}`, {
        method: 'PUT',
        body: init.body ?? new Uint8Array(content),
        headers: {
          'content-type': 'application/octet-stream',
          'x-memories-manifest': JSON.stringify(manifest),
          ...(init.token === '' ? {} : { authorization: `Bearer ${init.token ?? tokenA}` }),
          ...init.headers,
        },
      });
    const cases: Array<[string, Promise<Response>, number, RegExp]> = [
      ['no token', put({ token: '' }), 401, /missing bearer token/],
      ['a forged token', put({ token: `${tokenA.slice(0, -4)}AAAA` }), 401, /unknown or revoked token/],
      ['a bad namespace', put({ path: `/v1/namespaces/Team..A/rollouts/${sha}` }), 400, /namespace "Team..A" is not/],
      ['a bad hash in the URL', put({ path: '/v1/namespaces/team-a/rollouts/abc' }), 400, /64 lowercase hex/],
      ['no manifest', put({ headers: { 'x-memories-manifest': '' } }), 400, /manifest/i],
      ['a manifest that is not JSON', put({ headers: { 'x-memories-manifest': '{' } }), 400, /not JSON/],
      [
        'another namespace in the manifest',
        put({ headers: { 'x-memories-manifest': JSON.stringify({ ...manifest, namespace: 'team-b' }) } }),
        400,
        /manifest namespace must be "team-a"/,
      ],
      [
        'content that does not match its hash',
        put({ body: new Uint8Array(Buffer.from('tampered\n')) }),
        400,
        /content has sha256/,
      ],
      [
        'a rollout of another session',
        put({ headers: { 'x-memories-manifest': JSON.stringify({ ...manifest, sessionId: 'other' }) } }),
        400,
        /session_meta says session/,
      ],
      [
        'a file name that is no rollout',
        put({ headers: { 'x-memories-manifest': JSON.stringify({ ...manifest, fileName: '../x' }) } }),
        400,
        /fileName/,
      ],
      ['the wrong content type', put({ headers: { 'content-type': 'text/plain' } }), 415, /./],
      ['a body over the limit', put({ body: new Uint8Array(70 * 1024) }), 413, /./],
      [
        'a status query of bad hashes',
        fetch(`${base}/v1/namespaces/team-a/rollouts/status`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokenA}`, 'content-type': 'application/json' },
          body: '{"sha256":["x"]}',
        }),
        400,
        /./,
      ],
      [
        'a namespace nobody created',
        fetch(`${base}/v1/namespaces/team-c/memory`, {
          headers: { authorization: `Bearer ${(await createAccessToken(database.db, ['team-c'], 'c')).token}` },
        }),
        404,
        /no namespace team-c/,
      ],
    ];
    for (const [what, response, status, reason] of cases) {
      const answer = await response;
      const body = (await answer.json()) as { error: string };
      expect({ what, status: answer.status }).toEqual({ what, status });
      expect(body.error, what).toMatch(reason);
      expect(body.error, what).not.toContain('\n');
    }
    expect(await rows('SELECT count(*)::int AS n FROM memories.rollouts')).toEqual(before);
  });
});
