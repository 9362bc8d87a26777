// The consolidation agent keeps its train of thought across turns as Codex does: requests are unstored
// (store: false), so each turn's reasoning items come back in the next turn's input, with the encrypted content
// the request asked for. The chat wire has no reasoning items to pass.
import { afterEach, expect, it } from 'vitest';
import { runAgentLoop } from '../services/consolidation/agent-loop.ts';
import { noteTool } from './support/agent-requests.ts';
import { startLocalOpenAIServer, type Handler, type LocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createModelClient, type ModelClientOptions, type WireApi } from '../services/model/model-client.ts';

let server: LocalOpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Two tool-calling turns that reason, then a final answer. */
const reasoningTurns: Handler = ({ index }) => {
  if (index >= 2) return { text: 'done' };
  const reasoning = { summary: `thinking ${index}`, encryptedContent: `ENCRYPTED-${index}` };
  return { toolCalls: [{ id: `c${index}`, name: 'note', arguments: '{"text":"x"}' }], reasoning };
};

async function run(wireApi: WireApi, stream = true, options: Partial<ModelClientOptions> = {}) {
  server = await startLocalOpenAIServer({ handler: reasoningTurns });
  const client = createModelClient({ apiKey: 'sk-test', baseURL: server.url, wireApi, stream, ...options });
  const result = await runAgentLoop(client, {
    model: 'gpt-agent',
    instructions: 'CONSOLIDATE',
    prompt: 'go',
    tools: [noteTool],
    maxTurns: 5,
    maxTotalTokens: 1_000_000,
  });
  return { server, result };
}

it.each([true, false])(
  "passes each turn's reasoning item, with its encrypted content, back in the next turns' input (stream: %s)",
  async (stream) => {
    const { server, result } = await run('responses', stream);
    expect(result.finalText).toBe('done');

    const input = (n: number) => server.requests[n]!.body.input as any[];
    expect(input(0).filter((item) => item.type === 'reasoning')).toEqual([]);
    const first = {
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: 'thinking 0' }],
      encrypted_content: 'ENCRYPTED-0',
    };
    const second = {
      type: 'reasoning',
      summary: [{ type: 'summary_text', text: 'thinking 1' }],
      encrypted_content: 'ENCRYPTED-1',
    };
    expect(input(1).filter((item) => item.type === 'reasoning')).toEqual([first]);
    expect(input(2).filter((item) => item.type === 'reasoning')).toEqual([first, second]);
    // In the order the model produced them: the reasoning, then the call it led to.
    expect(input(1).map((item) => item.type)).toEqual(['message', 'reasoning', 'function_call', 'function_call_output']);
  },
);

it('passes back no reasoning item that came without encrypted content: unstored, it could not be looked up', async () => {
  // No effort set, so no `include`: the server's reasoning items carry no encrypted content.
  const { server, result } = await run('responses', true, { consolidationReasoningEffort: null });
  expect(result.finalText).toBe('done');

  expect(server.requests).toHaveLength(3);
  for (const { body } of server.requests) {
    expect(body.include).toBeUndefined();
    expect(body.input.filter((item: { type: string }) => item.type === 'reasoning')).toEqual([]);
  }
});

it('sends no reasoning items over the chat wire', async () => {
  const { server } = await run('chat');

  expect(server.requests).toHaveLength(3);
  for (const { body } of server.requests) {
    expect(body.input).toBeUndefined();
    expect(JSON.stringify(body.messages)).not.toContain('ENCRYPTED');
  }
});
