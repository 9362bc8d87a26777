// The consolidation agent's loop: tool calls go out, results come back to the model (including the
// model's own mistakes), and the loop ends on a plain answer or a budget.
import { afterEach, describe, expect, it } from 'vitest';
import { runAgentLoop, type AgentTool } from '../services/consolidation/agent-loop.ts';
import {
  startLocalOpenAIServer,
  type Handler,
  type LocalOpenAIServer,
  type Reply,
} from '../services/local-model/local-openai-server.ts';
import { createModelClient } from '../services/model/model-client.ts';

let server: LocalOpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function clientFor(handler: Handler, wireApi: 'responses' | 'chat' = 'responses') {
  server = await startLocalOpenAIServer({ handler });
  return { server, client: createModelClient({ apiKey: 'sk-test', baseURL: server.url, wireApi }) };
}

/** Plays replies in order, one per model request. */
function script(...replies: Reply[]): Handler {
  return ({ index }) => replies[index] ?? { text: 'out of script' };
}

function echoTool(log: unknown[] = []): AgentTool {
  return {
    name: 'echo',
    description: 'Echo the text back.',
    parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
    async execute(args) {
      log.push(args);
      return `echo: ${(args as { text: string }).text}`;
    },
  };
}

/** The tool results the model saw in request `n`, by call id, whichever wire carried them. */
function toolResults(server: LocalOpenAIServer, n: number): Record<string, string> {
  const body = server.requests[n]!.body;
  const out: Record<string, string> = {};
  for (const item of body.input ?? []) if (item.type === 'function_call_output') out[item.call_id] = item.output;
  for (const message of body.messages ?? []) if (message.role === 'tool') out[message.tool_call_id] = message.content;
  return out;
}

describe.each(['responses', 'chat'] as const)('over the %s wire', (wireApi) => {
  it('runs the scripted tool calls, feeds their results back, and returns the final message', async () => {
    const executed: unknown[] = [];
    const seen: [string, unknown, string][] = [];
    const { server, client } = await clientFor(
      script(
        {
          toolCalls: [{ id: 'c1', name: 'echo', arguments: '{"text":"one"}' }],
          usage: { input: 100, output: 10, cachedInput: 20 },
        },
        {
          toolCalls: [
            { id: 'c2', name: 'echo', arguments: '{"text":"two"}' },
            { id: 'c3', name: 'echo', arguments: '{"text":"three"}' },
          ],
          usage: { input: 150, output: 20 },
        },
        { text: 'All done.', usage: { input: 200, output: 5, reasoningOutput: 3 } },
      ),
      wireApi,
    );

    const result = await runAgentLoop(client, {
      model: 'agent-model',
      instructions: 'You are a test agent.',
      prompt: 'Please echo things.',
      tools: [echoTool(executed)],
      maxTurns: 10,
      maxTotalTokens: 1_000_000,
      onToolCall: (name, args, output) => seen.push([name, args, output]),
    });

    expect(result).toEqual({
      finalText: 'All done.',
      turns: 3,
      toolCalls: 3,
      stopReason: 'completed',
      usage: { input: 450, cachedInput: 20, output: 35, reasoningOutput: 3, total: 485 },
    });
    expect(executed).toEqual([{ text: 'one' }, { text: 'two' }, { text: 'three' }]);
    expect(seen[0]).toEqual(['echo', { text: 'one' }, 'echo: one']);
    expect(toolResults(server, 1)).toEqual({ c1: 'echo: one' });
    expect(toolResults(server, 2)).toEqual({ c1: 'echo: one', c2: 'echo: two', c3: 'echo: three' });

    const first = server.requests[0]!.body;
    const tools = first.tools.map((t: any) => t.name ?? t.function.name);
    expect(tools).toEqual(['echo']);
    const prompt = JSON.stringify(first.input ?? first.messages);
    expect(prompt).toContain('Please echo things.');
  });

  it('reports unparsable arguments and a failing tool back to the model instead of throwing', async () => {
    const failing: AgentTool = {
      name: 'fail',
      description: 'Always fails.',
      parameters: { type: 'object', properties: {} },
      async execute() {
        throw new Error('disk is on fire');
      },
    };
    const { server, client } = await clientFor(
      script(
        { toolCalls: [{ id: 'bad', name: 'echo', arguments: '{"text": "unterminated' }] },
        { toolCalls: [{ id: 'boom', name: 'fail', arguments: '{}' }] },
        { toolCalls: [{ id: 'ghost', name: 'no_such_tool', arguments: '{}' }] },
        { text: 'I give up.' },
      ),
      wireApi,
    );
    const executed: unknown[] = [];
    const result = await runAgentLoop(client, {
      model: 'm',
      instructions: 'i',
      prompt: 'p',
      tools: [echoTool(executed), failing],
      maxTurns: 10,
      maxTotalTokens: 1_000_000,
    });

    expect(result.stopReason).toBe('completed');
    expect(result.finalText).toBe('I give up.');
    expect(executed).toEqual([]);
    const results = toolResults(server, 3);
    expect(results.bad).toMatch(/^error: the arguments are not valid JSON/);
    expect(results.boom).toBe('error: disk is on fire');
    expect(results.ghost).toMatch(/^error: there is no tool named "no_such_tool"; available tools: echo, fail/);
  });

  it('stops at maxTurns even when the model keeps calling tools', async () => {
    const { server, client } = await clientFor(() => ({ toolCalls: [{ name: 'echo', arguments: '{"text":"again"}' }] }), wireApi);
    const result = await runAgentLoop(client, {
      model: 'm',
      instructions: 'i',
      prompt: 'p',
      tools: [echoTool()],
      maxTurns: 3,
      maxTotalTokens: 1_000_000,
    });
    expect(result.stopReason).toBe('maxTurns');
    expect(result.turns).toBe(3);
    expect(result.toolCalls).toBe(3);
    expect(server.requests).toHaveLength(3);
  });
});

it('stops once the token budget is spent', async () => {
  const { server, client } = await clientFor(() => ({
    toolCalls: [{ name: 'echo', arguments: '{"text":"x"}' }],
    usage: { input: 400, output: 100 },
  }));
  const result = await runAgentLoop(client, {
    model: 'm',
    instructions: 'i',
    prompt: 'p',
    tools: [echoTool()],
    maxTurns: 50,
    maxTotalTokens: 1_200,
  });
  expect(result.stopReason).toBe('maxTokens');
  expect(result.usage.total).toBe(1_500);
  expect(server.requests).toHaveLength(3);
});

it('lets model-call failures escape', async () => {
  const { client } = await clientFor(script({ toolCalls: [{ name: 'echo', arguments: '{"text":"x"}' }] }, { status: 401 }));
  await expect(
    runAgentLoop(client, { model: 'm', instructions: 'i', prompt: 'p', tools: [echoTool()], maxTurns: 5, maxTotalTokens: 1e6 }),
  ).rejects.toThrow(/401/);
});
