// Requests as Codex 0.169 sends them where it matters (codex-observed §3.2, §3.3): phase 1 with reasoning effort
// and text verbosity `low`, the consolidation agent with effort `medium` and its two marker headers; the reasoning
// settings only on the Responses wire, and each one overridable by the client's options.
import { afterEach, describe, expect, it } from 'vitest';
import { runAgentLoop } from '../services/consolidation/agent-loop.ts';
import { noteTool } from './support/agent-requests.ts';
import {
  startLocalOpenAIServer,
  type Handler,
  type LocalOpenAIServer,
  type RecordedRequest,
} from '../services/local-model/local-openai-server.ts';
import { createModelClient, type ModelClientOptions, type WireApi } from '../services/model/model-client.ts';

let server: LocalOpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(handler: Handler, wireApi: WireApi, options: Partial<ModelClientOptions> = {}) {
  server = await startLocalOpenAIServer({ handler });
  const client = createModelClient({ apiKey: 'sk-test', baseURL: server.url, wireApi, ...options });
  return { server, client };
}

const STAGE1_REPLY = JSON.stringify({ rollout_summary: 'Fixed a test', rollout_slug: 'test', raw_memory: '- fact' });
const stage1 = { model: 'gpt-test', instructions: 'SYSTEM PROMPT', input: 'Analyze this rollout' };

/** One tool call, then, once its result is in the request, a final answer: two requests per agent run. */
const twoTurns: Handler = ({ body }) => {
  const answered = JSON.stringify(body.input ?? body.messages).includes('noted');
  return answered ? { text: 'done' } : { toolCalls: [{ id: 'c1', name: 'note', arguments: '{"text":"x"}' }] };
};

const agent = (client: ReturnType<typeof createModelClient>, extra: { reasoningEffort?: 'high' } = {}) =>
  runAgentLoop(client, {
    model: 'gpt-agent',
    instructions: 'CONSOLIDATE',
    prompt: 'go',
    tools: [noteTool],
    maxTurns: 5,
    maxTotalTokens: 1_000_000,
    ...extra,
  });

/** Every field through which a request could carry a reasoning or verbosity setting, on either wire. */
function reasoningSettingsOf({ body }: RecordedRequest) {
  return {
    reasoning: body.reasoning,
    include: body.include,
    verbosity: body.text?.verbosity ?? body.verbosity,
    reasoning_effort: body.reasoning_effort,
  };
}

const NO_SETTINGS = { reasoning: undefined, include: undefined, verbosity: undefined, reasoning_effort: undefined };

describe.each([true, false])('phase 1 (stream: %s)', (stream) => {
  it('sends reasoning effort low and text verbosity low on the Responses wire, next to the JSON schema format', async () => {
    const { server, client } = await setup(() => ({ text: STAGE1_REPLY }), 'responses', { stream });
    await client.extractStage1(stage1);

    const { body } = server.requests[0]!;
    expect(body.reasoning).toEqual({ effort: 'low' });
    expect(body.text.verbosity).toBe('low');
    expect(body.text.format).toMatchObject({ type: 'json_schema', name: 'codex_output_schema', strict: true });
    expect(body.include).toEqual(['reasoning.encrypted_content']);
    expect(body).toMatchObject({ store: false });
  });

  it('sends no reasoning effort and no verbosity on the chat wire', async () => {
    const { server, client } = await setup(() => ({ text: STAGE1_REPLY }), 'chat', { stream });
    await client.extractStage1(stage1);

    expect(reasoningSettingsOf(server.requests[0]!)).toEqual(NO_SETTINGS);
    expect(server.requests[0]!.body.response_format).toMatchObject({ type: 'json_schema' });
  });

  it('carries no sub-agent marker, as in Codex', async () => {
    const { server, client } = await setup(() => ({ text: STAGE1_REPLY }), 'responses', { stream });
    await client.extractStage1(stage1);

    expect(server.requests[0]!.headers['x-openai-subagent']).toBeUndefined();
    expect(server.requests[0]!.headers['x-openai-memgen-request']).toBeUndefined();
  });
});

describe('phase 2 (the consolidation agent)', () => {
  it('sends reasoning effort medium and the two marker headers with every turn on the Responses wire', async () => {
    const { server, client } = await setup(twoTurns, 'responses');
    await agent(client);

    expect(server.requests).toHaveLength(2);
    for (const request of server.requests) {
      expect(request.body.reasoning).toEqual({ effort: 'medium' });
      expect(request.body.include).toEqual(['reasoning.encrypted_content']);
      expect(request.body.text?.verbosity).toBeUndefined();
      expect(request.headers['x-openai-subagent']).toBe('memory_consolidation');
      expect(request.headers['x-openai-memgen-request']).toBe('true');
    }
  });

  it('sends the marker headers but no reasoning settings on the chat wire', async () => {
    const { server, client } = await setup(twoTurns, 'chat');
    await agent(client);

    expect(server.requests).toHaveLength(2);
    for (const request of server.requests) {
      expect(reasoningSettingsOf(request)).toEqual(NO_SETTINGS);
      expect(request.headers['x-openai-subagent']).toBe('memory_consolidation');
      expect(request.headers['x-openai-memgen-request']).toBe('true');
    }
  });
});

describe('options override the defaults', () => {
  it("uses the client's extract effort and verbosity for phase 1", async () => {
    const options = { extractReasoningEffort: 'high', extractVerbosity: 'medium' } as const;
    const { server, client } = await setup(() => ({ text: STAGE1_REPLY }), 'responses', options);
    await client.extractStage1(stage1);

    expect(server.requests[0]!.body.reasoning).toEqual({ effort: 'high' });
    expect(server.requests[0]!.body.text.verbosity).toBe('medium');
  });

  it("uses the client's consolidation effort for phase 2, and the agent loop's own effort over it", async () => {
    const { server, client } = await setup(twoTurns, 'responses', { consolidationReasoningEffort: 'minimal' });
    await agent(client);
    await agent(client, { reasoningEffort: 'high' });

    expect(server.requests.map((r) => r.body.reasoning.effort)).toEqual(['minimal', 'minimal', 'high', 'high']);
  });

  it('leaves a setting given as null out of the request', async () => {
    const options = { extractReasoningEffort: null, extractVerbosity: null, consolidationReasoningEffort: null };
    const { server, client } = await setup(
      (req) => (req.body.tools?.length ? { text: 'done' } : { text: STAGE1_REPLY }),
      'responses',
      options,
    );
    await client.extractStage1(stage1);
    await agent(client);

    expect(server.requests).toHaveLength(2);
    for (const request of server.requests) expect(reasoningSettingsOf(request)).toEqual(NO_SETTINGS);
    expect(server.requests[0]!.body.text.format).toMatchObject({ name: 'codex_output_schema' });
  });
});
