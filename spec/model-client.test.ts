// The stage-1 call as the pipeline relies on it: the request carries Codex's strict schema and prompt
// split, the reply is validated, usage is reported, and every failure lands in the right error class.
import { APIUserAbortError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { BadInputError, MalformedReplyError, RetryableError } from '../services/errors.ts';
import { startLocalOpenAIServer, type Handler, type LocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createModelClient, type ModelClientOptions } from '../services/model/model-client.ts';
import { parseStage1Reply } from '../services/extraction/stage-one-parse.ts';

let server: LocalOpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(handler: Handler, options: Partial<ModelClientOptions> = {}) {
  server = await startLocalOpenAIServer({ handler });
  const client = createModelClient({ apiKey: 'sk-test', baseURL: server.url, wireApi: 'responses', ...options });
  return { server, client };
}

const GOOD = {
  rollout_summary: 'Fixed the flaky test',
  rollout_slug: 'flaky-test',
  raw_memory: '---\ndescription: x\n---\n- fact',
};
const request = { model: 'gpt-test', instructions: 'SYSTEM PROMPT', input: 'Analyze this rollout: ROLLOUT BODY' };

const variants = [
  { wireApi: 'responses', stream: true },
  { wireApi: 'responses', stream: false },
  { wireApi: 'chat', stream: true },
  { wireApi: 'chat', stream: false },
] as const;

describe.each(variants)('stage 1 over $wireApi (stream: $stream)', ({ wireApi, stream }) => {
  it('sends the strict codex_output_schema, the instructions and the single user input, and maps usage', async () => {
    const { server, client } = await setup(
      () => ({ text: JSON.stringify(GOOD), usage: { input: 1000, output: 200, cachedInput: 300, reasoningOutput: 50 } }),
      { wireApi, stream },
    );
    const result = await client.extractStage1({ ...request, promptCacheKey: 'job-123' });

    expect(result.reply).toEqual({ rolloutSummary: GOOD.rollout_summary, rolloutSlug: 'flaky-test', rawMemory: GOOD.raw_memory });
    expect(result.rawText).toBe(JSON.stringify(GOOD));
    expect(result.usage).toEqual({ input: 1000, cachedInput: 300, output: 200, reasoningOutput: 50, total: 1200 });

    expect(server.requests).toHaveLength(1);
    const body = server.requests[0]!.body;
    expect(body.model).toBe('gpt-test');
    expect(Boolean(body.stream)).toBe(stream);
    expect(body.tools).toBeUndefined();
    const format =
      wireApi === 'responses' ? body.text.format : { type: body.response_format.type, ...body.response_format.json_schema };
    expect(format).toMatchObject({ type: 'json_schema', name: 'codex_output_schema', strict: true });
    expect(format.schema).toMatchObject({
      type: 'object',
      additionalProperties: false,
      properties: { rollout_summary: { type: 'string' }, raw_memory: { type: 'string' } },
    });
    expect([...format.schema.required].sort()).toEqual(['raw_memory', 'rollout_slug', 'rollout_summary']);
    expect(JSON.stringify(format.schema.properties.rollout_slug)).toContain('null');

    if (wireApi === 'responses') {
      expect(body.instructions).toBe('SYSTEM PROMPT');
      expect(body.input).toEqual([{ type: 'message', role: 'user', content: [{ type: 'input_text', text: request.input }] }]);
      expect(body).toMatchObject({ store: false, parallel_tool_calls: false, prompt_cache_key: 'job-123' });
    } else {
      expect(body.messages).toEqual([
        { role: 'system', content: 'SYSTEM PROMPT' },
        { role: 'user', content: request.input },
      ]);
      if (stream) expect(body.stream_options).toEqual({ include_usage: true });
    }
  });

  it('reports usage as null when the server sends none', async () => {
    const { client } = await setup(() => ({ text: JSON.stringify(GOOD), usage: null }), { wireApi, stream });
    expect((await client.extractStage1(request)).usage).toBeNull();
  });

  it('turns non-JSON, a missing field and an extra key into MalformedReplyError', async () => {
    const replies = [
      `Sure! Here is the memory you asked for: ${'blah '.repeat(100)}`,
      JSON.stringify({ rollout_summary: 's', rollout_slug: null }),
      JSON.stringify({ ...GOOD, confidence: 0.9 }),
    ];
    const { client } = await setup(({ index }) => ({ text: replies[index]! }), { wireApi, stream });

    const notJson = await client.extractStage1(request).catch((e: unknown) => e);
    expect(notJson).toBeInstanceOf(MalformedReplyError);
    expect((notJson as Error).message).toContain('not valid JSON');
    expect((notJson as Error).message).toContain('Sure! Here is the memory');
    expect((notJson as Error).message.length).toBeLessThan(400);

    const missing = await client.extractStage1(request).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(MalformedReplyError);
    expect((missing as Error).message).toContain('raw_memory');

    const extra = await client.extractStage1(request).catch((e: unknown) => e);
    expect(extra).toBeInstanceOf(MalformedReplyError);
    expect((extra as Error).message).toContain('"confidence"');
  });

  it('survives a 10 MB reply with a clear MalformedReplyError', async () => {
    const huge = JSON.stringify({ ...GOOD, raw_memory: 'm'.repeat(10 * 1024 * 1024) });
    const { client } = await setup(({ index }) => (index === 0 ? { text: huge } : { text: JSON.stringify(GOOD) }), {
      wireApi,
      stream,
    });
    const error = await client.extractStage1(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MalformedReplyError);
    expect((error as Error).message).toMatch(/exceeded/);
    expect((await client.extractStage1(request)).reply.rolloutSlug).toBe('flaky-test');
  });

  it('maps a connection dropped mid-answer to RetryableError', async () => {
    const { client } = await setup(
      () => ({ dropAfterBytes: 400, text: JSON.stringify({ ...GOOD, raw_memory: 'r'.repeat(3000) }) }),
      {
        wireApi,
        stream,
      },
    );
    const error = await client.extractStage1(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
  });
});

describe('HTTP failures', () => {
  it('makes one HTTP attempt per call, even on a 500, and names the status (the machines own retries)', async () => {
    const { server, client } = await setup(
      () => ({
        status: 500,
        headers: { 'retry-after-ms': '0' },
        body: { error: { message: 'upstream exploded', type: 'server_error' } },
      }),
      { wireApi: 'chat' },
    );
    const error = await client.extractStage1(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toContain('500 Internal Server Error');
    expect((error as Error).message).toContain('upstream exploded');
    expect(server.requests).toHaveLength(1);
  });

  it('passes the server-suggested wait of a final 429 on to the caller', async () => {
    const { client } = await setup(() => ({ status: 429, headers: { 'retry-after': '7' } }));
    const error = await client.extractStage1(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as RetryableError).retryAfterMs).toBe(7000);
    expect((error as Error).message).toContain('429');
  });

  it('turns a 401 into BadInputError without retrying', async () => {
    const { server, client } = await setup(() => ({
      status: 401,
      body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } },
    }));
    const error = await client.extractStage1(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toBe('model request rejected (401 Unauthorized): Incorrect API key provided');
    expect(server.requests).toHaveLength(1);
  });

  it('names why the server could not be reached, not just "fetch failed"', async () => {
    // A port that just closed refuses the connection; port 9 is one Node's fetch will not dial at all.
    const closed = await startLocalOpenAIServer({ handler: () => ({ status: 500 }) });
    await closed.close();
    // A refused connection may be a server restarting: retried. A port fetch never dials cannot work: not retried.
    for (const [baseURL, reason, kind] of [
      [closed.url, 'connection refused (ECONNREFUSED)', RetryableError],
      ['http://127.0.0.1:9/v1', 'bad port', BadInputError],
    ] as const) {
      const client = createModelClient({ apiKey: 'sk-test', baseURL, wireApi: 'responses' });
      const error = await client.extractStage1(request).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(kind);
      expect((error as Error).message).toBe(`could not reach the model server at ${baseURL}: ${reason}`);
    }
  });

  it('turns a request that hangs past timeoutMs into RetryableError', async () => {
    const { client } = await setup(() => ({ hangMs: 30_000 }), { timeoutMs: 200 });
    const error = await client.extractStage1(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toMatch(/timed out/);
  });

  it('cuts off a stream that goes silent after it started, within timeoutMs', async () => {
    const { client } = await setup(
      () => ({ dropAfterBytes: 300, stallMs: 30_000, text: JSON.stringify(GOOD) + ' '.repeat(2000) }),
      {
        timeoutMs: 300,
      },
    );
    const error = await client.extractStage1(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toMatch(/silent/);
  });
});

describe('aborting', () => {
  it('rethrows the SDK abort error when our signal fires before the answer', async () => {
    const { client } = await setup(() => ({ hangMs: 30_000 }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await client.extractStage1({ ...request, signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIUserAbortError);
  });

  it('rethrows an abort error when our signal fires in the middle of a stream', async () => {
    const { client } = await setup(() => ({
      dropAfterBytes: 300,
      stallMs: 30_000,
      text: JSON.stringify(GOOD) + ' '.repeat(2000),
    }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 200);
    const error = await client.extractStage1({ ...request, signal: controller.signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(APIUserAbortError);
  });
});

describe('parseStage1Reply', () => {
  it('accepts an absent or null slug', () => {
    expect(parseStage1Reply(JSON.stringify({ rollout_summary: 's', raw_memory: 'r' })).rolloutSlug).toBeNull();
    expect(
      parseStage1Reply(JSON.stringify({ rollout_summary: 's', raw_memory: 'r', rollout_slug: null })).rolloutSlug,
    ).toBeNull();
  });

  it('does not strip code fences', () => {
    expect(() => parseStage1Reply(`\`\`\`json\n${JSON.stringify(GOOD)}\n\`\`\``)).toThrow(MalformedReplyError);
  });

  it('rejects a non-string field and quotes at most 200 characters of the reply', () => {
    const text = JSON.stringify({ ...GOOD, rollout_summary: 42, filler: 'f'.repeat(1000) });
    let error: unknown;
    try {
      parseStage1Reply(text);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MalformedReplyError);
    expect((error as Error).message).toContain('rollout_summary');
    expect((error as Error).message).not.toContain('f'.repeat(201));
  });
});
