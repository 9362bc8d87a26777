// A provider's stream ends a moment after its last event (the body's closing chunk comes in a
// packet of its own). The model client reads on to that end instead of hanging up at
// `response.completed`: hanging up aborts the request and closes the connection, so every call
// would open a new one (against a real provider, a TLS handshake apiece).
import { afterEach, expect, it } from 'vitest';
import { startLocalOpenAIServer, type LocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createModelClient } from '../services/model/model-client.ts';

const REPLY = JSON.stringify({ rollout_summary: 'Fixed the build', rollout_slug: 'build', raw_memory: '- a fact' });
const REQUEST = { model: 'gpt-test', instructions: 'SYSTEM', input: 'ROLLOUT' };

let server: LocalOpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A server whose every stream ends `endAfterMs` after its last event. */
async function lingeringServer(endAfterMs: number): Promise<LocalOpenAIServer> {
  server = await startLocalOpenAIServer({ handler: () => ({ text: REPLY, endAfterMs }) });
  return server;
}

it('keeps one connection across stage-1 calls whose streams end a moment after response.completed', async () => {
  const server = await lingeringServer(30);
  const client = createModelClient({ apiKey: 'sk-test', baseURL: server.url, wireApi: 'responses', stream: true });
  for (let i = 0; i < 5; i++) {
    const result = await client.extractStage1(REQUEST);
    expect(result.reply.rolloutSlug).toBe('build');
  }
  expect(server.requests).toHaveLength(5);
  expect(server.connections).toBe(1);
});

it('still returns the reply when a stream does not end after response.completed, hanging up within a second', async () => {
  const server = await lingeringServer(10 * 60_000);
  const client = createModelClient({
    apiKey: 'sk-test',
    baseURL: server.url,
    wireApi: 'responses',
    stream: true,
    timeoutMs: 60_000,
  });
  const result = await client.extractStage1(REQUEST);
  expect(result.reply.rolloutSlug).toBe('build');
});
