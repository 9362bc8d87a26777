// push and pull pointed at a service that is not a memories server (here the bundled model server, which answers
// OpenAI-style `{"error": {"message": …}}`; its URL ends in /v1, so the paths asked for hold /v1/v1) say so with the reason it gave, never `404: [object Object]`.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { type LocalOpenAIServer, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';
import { writeRollout } from './reliability/support/harness.ts';

let model: LocalOpenAIServer;
let home: Awaited<ReturnType<typeof tempCodexHome>>;

beforeAll(async () => {
  model = await startLocalOpenAIServer({ handler: scriptedHandler() });
  home = await tempCodexHome();
  await writeRollout(home.home, { threadId: '0199cccc-0000-7000-8000-000000000001', user: ['fix the flaky test'] });
});

afterAll(async () => {
  await model?.close();
  await home?.cleanup();
});

const client = () => ['--server', model.url, '--token', 'mem_x', '--namespace', 'ci', '--codex-home', home.home];
const NOT_MEMORIES = (path: string) =>
  new RegExp(
    `^memories: ${model.url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} is not a memories server \\(404 Not Found: no route for ${path}\\); check --server$`,
  );

it('pull says the server is not a memories server, with the reason it gave', async () => {
  const { code, stderr } = await memories(['pull', ...client()]);
  expect(code).toBe(1);
  expect(stderr.trim().split('\n')).toEqual([expect.stringMatching(NOT_MEMORIES('GET /v1/v1/namespaces/ci/memory'))]);
});

it('push says the server is not a memories server, with the reason it gave', async () => {
  const { code, stderr } = await memories(['push', ...client(), '--idle-minutes', '0']);
  expect(code).toBe(1);
  expect(stderr).not.toContain('[object Object]');
  expect(stderr.trim().split('\n')).toEqual([
    expect.stringMatching(NOT_MEMORIES('PUT /v1/v1/namespaces/ci/rollouts/[0-9a-f]{64}')),
  ]);
});
