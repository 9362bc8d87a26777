// A provider's stream ends a moment after its last event (the body's closing chunk comes in a
// packet of its own). The model client reads on to that end instead of hanging up at
// `response.completed`: hanging up aborts the request and closes the connection, so every call
// would open a new one (against a real provider, a TLS handshake apiece).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { createModelClient } from '../services/model-client.ts';

const REPLY = JSON.stringify({ rollout_summary: 'Fixed the build', rollout_slug: 'build', raw_memory: '- a fact' });
const USAGE = { input_tokens: 10, output_tokens: 5, total_tokens: 15, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } };

let server: http.Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  server = undefined;
});

/** A Responses-wire server whose every stream ends `endAfterMs` after its last event. */
async function lingeringServer(endAfterMs: number) {
  let connections = 0;
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const events = [
        { type: 'response.output_text.delta', item_id: 'msg_1', output_index: 0, content_index: 0, delta: REPLY },
        {
          type: 'response.completed',
          response: { id: 'resp_1', object: 'response', status: 'completed', model: 'gpt-test', output: [], usage: USAGE },
        },
      ];
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(events.map((e, i) => `event: ${e.type}\ndata: ${JSON.stringify({ ...e, sequence_number: i })}\n\n`).join(''));
      setTimeout(() => res.end(), endAfterMs).unref();
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, connections: () => connections };
}

it('keeps one connection across stage-1 calls whose streams end a moment after response.completed', async () => {
  const { url, connections } = await lingeringServer(30);
  const client = createModelClient({ apiKey: 'sk-test', baseURL: url, wireApi: 'responses', stream: true });
  for (let i = 0; i < 5; i++) {
    const result = await client.extractStage1({ model: 'gpt-test', instructions: 'SYSTEM', input: 'ROLLOUT' });
    expect(result.reply.rolloutSlug).toBe('build');
  }
  expect(connections()).toBe(1);
});

it('still returns the reply when a stream does not end after response.completed, hanging up within a second', async () => {
  const { url } = await lingeringServer(10 * 60_000);
  const client = createModelClient({ apiKey: 'sk-test', baseURL: url, wireApi: 'responses', stream: true, timeoutMs: 60_000 });
  const started = performance.now();
  const result = await client.extractStage1({ model: 'gpt-test', instructions: 'SYSTEM', input: 'ROLLOUT' });
  expect(result.reply.rolloutSlug).toBe('build');
  expect(performance.now() - started).toBeLessThan(5_000);
});
