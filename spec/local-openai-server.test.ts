// The bundled server must be a faithful enough OpenAI endpoint that the real SDK, unmodified, can
// talk to it over both wires, and must produce the faults the pipeline has to survive.
import OpenAI, { APIConnectionTimeoutError, InternalServerError, RateLimitError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer, type Handler, type LocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { arrivals } from './support/arrivals.ts';

let server: LocalOpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(handler: Handler, latencyMs?: number) {
  server = await startLocalOpenAIServer({ handler, latencyMs });
  const sdk = new OpenAI({ apiKey: 'test-key', baseURL: server.url, maxRetries: 0, timeout: 5_000 });
  return { server, sdk };
}

describe('Responses wire', () => {
  it('answers a plain request with the text, usage and a recorded request', async () => {
    const { server, sdk } = await serve(() => ({
      text: 'hello there',
      usage: { input: 11, output: 3, cachedInput: 4, reasoningOutput: 1 },
    }));
    const response = await sdk.responses.create({ model: 'm', input: 'hi', instructions: 'be nice' });

    expect(response.output_text).toBe('hello there');
    expect(response.usage).toMatchObject({
      input_tokens: 11,
      input_tokens_details: { cached_tokens: 4 },
      output_tokens: 3,
      output_tokens_details: { reasoning_tokens: 1 },
      total_tokens: 14,
    });
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]!.path).toBe('/v1/responses');
    expect(server.requests[0]!.body).toMatchObject({ model: 'm', input: 'hi', instructions: 'be nice' });
    expect(server.requests[0]!.headers.authorization).toBe('Bearer test-key');
  });

  it('estimates usage when the handler gives none, and omits it when told to', async () => {
    const { sdk } = await serve(({ index }) => (index === 0 ? { text: 'x'.repeat(400) } : { text: 'y', usage: null }));
    const estimated = await sdk.responses.create({ model: 'm', input: 'a'.repeat(4000) });
    expect(estimated.usage!.input_tokens).toBeGreaterThanOrEqual(1000);
    expect(estimated.usage!.output_tokens).toBe(100);
    const none = await sdk.responses.create({ model: 'm', input: 'hi' });
    expect(none.usage).toBeNull();
  });

  it('keeps no requests when told not to, and still answers them', async () => {
    server = await startLocalOpenAIServer({ handler: () => ({ text: 'ok' }), recordRequests: false });
    const sdk = new OpenAI({ apiKey: 'test-key', baseURL: server.url, maxRetries: 0, timeout: 5_000 });
    for (let i = 0; i < 3; i++)
      expect((await sdk.responses.create({ model: 'm', input: 'x'.repeat(10_000) })).output_text).toBe('ok');
    expect(server.requests).toHaveLength(0);
  });

  it('streams the full event sequence the SDK stream helper needs', async () => {
    const text = 'a fairly long answer that will be split into several deltas by the server';
    const { sdk } = await serve(() => ({ text }));
    const types: string[] = [];
    const sequence: number[] = [];
    const stream = await sdk.responses.create({ model: 'm', input: 'hi', stream: true });
    let deltas = '';
    for await (const event of stream) {
      types.push(event.type);
      sequence.push(event.sequence_number);
      if (event.type === 'response.output_text.delta') deltas += event.delta;
    }
    expect(deltas).toBe(text);
    expect(types.filter((t) => t === 'response.output_text.delta').length).toBeGreaterThan(1);
    expect(types.filter((t) => t !== 'response.output_text.delta')).toEqual([
      'response.created',
      'response.in_progress',
      'response.output_item.added',
      'response.content_part.added',
      'response.output_text.done',
      'response.content_part.done',
      'response.output_item.done',
      'response.completed',
    ]);
    expect(sequence).toEqual(sequence.map((_, i) => i));

    const helper = sdk.responses.stream({ model: 'm', input: 'again' });
    const final = await helper.finalResponse();
    expect(final.output_text).toBe(text);
    expect(final.usage?.output_tokens).toBeGreaterThan(0);
  });

  it('returns function calls, streamed and not', async () => {
    const calls = [
      { id: 'call_1', name: 'read_file', arguments: '{"path":"a.md"}' },
      { name: 'write_file', arguments: `{"path":"b.md","content":"${'z'.repeat(300)}"}` },
    ];
    const { sdk } = await serve(() => ({ toolCalls: calls }));

    const plain = await sdk.responses.create({ model: 'm', input: 'go' });
    const plainCalls = plain.output.filter((item) => item.type === 'function_call');
    expect(plainCalls.map((c) => [c.name, c.arguments])).toEqual(calls.map((c) => [c.name, c.arguments]));
    expect(plainCalls[0]!.call_id).toBe('call_1');
    expect(plainCalls[1]!.call_id).toMatch(/\S/);

    const stream = await sdk.responses.create({ model: 'm', input: 'go', stream: true });
    const argumentDeltas = new Map<number, string>();
    const done: string[] = [];
    for await (const event of stream) {
      if (event.type === 'response.function_call_arguments.delta') {
        argumentDeltas.set(event.output_index, (argumentDeltas.get(event.output_index) ?? '') + event.delta);
      }
      if (event.type === 'response.output_item.done' && event.item.type === 'function_call') done.push(event.item.name);
    }
    expect([...argumentDeltas.values()]).toEqual(calls.map((c) => c.arguments));
    expect(done).toEqual(['read_file', 'write_file']);

    const final = await sdk.responses.stream({ model: 'm', input: 'go' }).finalResponse();
    expect(final.output.filter((i) => i.type === 'function_call')).toHaveLength(2);
  });
});

describe('Chat Completions wire', () => {
  it('answers text and tool calls without streaming', async () => {
    const { server, sdk } = await serve(({ index }) =>
      index === 0
        ? { text: 'plain answer', usage: { input: 5, output: 2 } }
        : { toolCalls: [{ id: 'c1', name: 'read_file', arguments: '{}' }] },
    );
    const first = await sdk.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(first.choices[0]!.message.content).toBe('plain answer');
    expect(first.choices[0]!.finish_reason).toBe('stop');
    expect(first.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });

    const second = await sdk.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect(second.choices[0]!.finish_reason).toBe('tool_calls');
    expect(second.choices[0]!.message.tool_calls).toEqual([
      { id: 'c1', type: 'function', function: { name: 'read_file', arguments: '{}' } },
    ]);
    expect(server.requests.map((r) => r.path)).toEqual(['/v1/chat/completions', '/v1/chat/completions']);
  });

  it('streams chunks, ends with a usage chunk when asked, and the SDK helper assembles them', async () => {
    const text = 'streamed chat answer that is long enough to need more than one chunk of text';
    const { sdk } = await serve(() => ({ text, usage: { input: 9, output: 4 } }));
    const chunks = [];
    const stream = await sdk.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(text);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 4 });

    const withoutUsage = await sdk.chat.completions.create({
      model: 'm',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const plain = [];
    for await (const chunk of withoutUsage) plain.push(chunk);
    expect(plain.some((c) => c.usage)).toBe(false);

    const helper = sdk.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    expect((await helper.finalChatCompletion()).choices[0]!.message.content).toBe(text);
  });

  it('streams tool calls that the SDK helper reassembles', async () => {
    const args = JSON.stringify({ path: 'MEMORY.md', content: 'c'.repeat(500) });
    const { sdk } = await serve(() => ({ toolCalls: [{ id: 'w1', name: 'write_file', arguments: args }] }));
    const helper = sdk.chat.completions.stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }] });
    const message = (await helper.finalChatCompletion()).choices[0]!.message;
    expect(message.tool_calls).toEqual([{ id: 'w1', type: 'function', function: { name: 'write_file', arguments: args } }]);
  });
});

describe('faults', () => {
  it('sends HTTP errors with their headers and an OpenAI-style body', async () => {
    const { sdk } = await serve(({ index }) =>
      index === 0
        ? { status: 429, headers: { 'retry-after-ms': '1234' } }
        : { status: 500, body: { error: { message: 'kaput', type: 'server_error' } } },
    );
    const limited = await sdk.responses.create({ model: 'm', input: 'x' }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).headers.get('retry-after-ms')).toBe('1234');

    const broken = await sdk.chat.completions
      .create({ model: 'm', messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(InternalServerError);
    expect((broken as InternalServerError).message).toContain('kaput');
  });

  it('hangs long enough for a client timeout, and close() does not wait for the hang', async () => {
    // A hang of about 24 days: a close() that waited for it would never return.
    const second = arrivals(2);
    const { server, sdk } = await serve(() => {
      second.signal();
      return { hangMs: 2 ** 31 - 1 };
    });
    const error = await sdk.responses.create({ model: 'm', input: 'x' }, { timeout: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIConnectionTimeoutError);

    const pending = sdk.responses.create({ model: 'm', input: 'x' }).catch((e: unknown) => e);
    await second.all;
    await server.close();
    expect(await pending).toBeInstanceOf(Error);
  });

  it('drops the connection part-way through a stream', async () => {
    const text = 'q'.repeat(2000);
    const { sdk } = await serve(() => ({ dropAfterBytes: 600, text }));
    const stream = await sdk.responses.create({ model: 'm', input: 'x', stream: true });
    let received = '';
    let completed = false;
    const outcome = await (async () => {
      for await (const event of stream) {
        if (event.type === 'response.output_text.delta') received += event.delta;
        if (event.type === 'response.completed') completed = true;
      }
    })().catch((e: unknown) => e);
    expect(completed).toBe(false);
    expect(received.length).toBeLessThan(text.length);
    expect((outcome as Error).message).toBe('terminated');
  });

  it('sends a raw body verbatim', async () => {
    const { sdk } = await serve(() => ({ raw: '{"not":"a response"' }));
    const error = await sdk.responses.create({ model: 'm', input: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SyntaxError);
  });

  it('answers malformed requests and handler crashes with errors, and keeps serving', async () => {
    const { server, sdk } = await serve(({ body }) => {
      if (body.input === 'boom') throw new Error('handler exploded');
      return { text: 'fine' };
    });
    const notJson = await fetch(`${server.url}/responses`, {
      method: 'POST',
      body: '{oops',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect(((await notJson.json()) as { error: { message: string } }).error.message).toMatch(/JSON object/);

    const noModel = await fetch(`${server.url}/chat/completions`, { method: 'POST', body: '{"messages":[]}' });
    expect(noModel.status).toBe(400);
    const unknownPath = await fetch(`${server.url}/embeddings`, { method: 'POST', body: '{}' });
    expect(unknownPath.status).toBe(404);

    const crashed = await sdk.responses.create({ model: 'm', input: 'boom' }).catch((e: unknown) => e);
    expect(crashed).toBeInstanceOf(InternalServerError);
    expect((crashed as Error).message).toContain('handler exploded');

    expect((await sdk.responses.create({ model: 'm', input: 'ok' })).output_text).toBe('fine');
  });

  it('serves many requests concurrently rather than one after another', async () => {
    // No handler answers before all forty requests are in it: served one at a time, none would finish.
    const all = arrivals(40);
    const { server, sdk } = await serve(async ({ index }) => {
      all.signal();
      await all.all;
      return { text: `answer ${index}` };
    }, 100);
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        i % 2 === 0
          ? sdk.responses.create({ model: 'm', input: `q${i}`, stream: true }).then(async (s) => {
              let t = '';
              for await (const e of s) if (e.type === 'response.output_text.delta') t += e.delta;
              return t;
            })
          : sdk.chat.completions
              .create({ model: 'm', messages: [{ role: 'user', content: `q${i}` }] })
              .then((c) => c.choices[0]!.message.content),
      ),
    );
    expect(new Set(answers).size).toBe(40);
    expect(server.requests).toHaveLength(40);
  });
});
