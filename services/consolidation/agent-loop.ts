// A minimal function-calling agent loop until a plain-text answer or a spent budget. Tool failures go back
// to the model as text so it can correct itself; only model-call failures (and aborts) escape.
// When a trace is being recorded, the run, each turn and each tool call get a span (telemetry/agent-spans.ts).
import type { AgentMessage, AgentToolSpec, ModelClient } from '../model/model-client.ts';
import type { ReasoningEffort } from '../model/request-settings.ts';
import { type AgentTrace, type ToolCallOutcome, traceAgent, type TurnTrace } from '../telemetry/agent-spans.ts';
import { errorKind } from '../telemetry/trace-scope.ts';
import type { TokenUsage } from '../types.ts';

export interface AgentTool extends AgentToolSpec {
  execute(args: unknown): Promise<string>;
}

export interface AgentLoopOptions {
  model: string;
  instructions: string;
  prompt: string;
  tools: AgentTool[];
  maxTurns: number;
  maxTotalTokens: number;
  signal?: AbortSignal;
  /** Overrides the client's consolidation reasoning effort. */
  reasoningEffort?: ReasoningEffort;
  onToolCall?(name: string, args: unknown, result: string): void;
  /** The agent's name in traces (default Codex's label for it, memory_consolidation). */
  agentName?: string;
}

export type AgentStopReason = 'completed' | 'maxTurns' | 'maxTokens';

export interface AgentLoopResult {
  finalText: string;
  turns: number;
  toolCalls: number;
  usage: TokenUsage;
  stopReason: AgentStopReason;
}

export async function runAgentLoop(client: ModelClient, opts: AgentLoopOptions): Promise<AgentLoopResult> {
  const trace = traceAgent(opts.agentName ?? 'memory_consolidation', opts.model);
  try {
    const result = await trace.run(() => loop(client, opts, trace));
    trace.end(result);
    return result;
  } catch (error) {
    trace.fail(error);
    throw error;
  }
}

async function loop(client: ModelClient, opts: AgentLoopOptions, trace: AgentTrace): Promise<AgentLoopResult> {
  const { signal } = opts;
  const messages: AgentMessage[] = [{ role: 'user', text: opts.prompt }];
  const usage: TokenUsage = { input: 0, cachedInput: 0, output: 0, reasoningOutput: 0, total: 0 };
  const byName = new Map(opts.tools.map((tool) => [tool.name, tool]));
  const specs: AgentToolSpec[] = opts.tools.map(({ name, description, parameters }) => ({ name, description, parameters }));
  let turns = 0;
  let toolCalls = 0;
  let lastText = '';

  const stop = (stopReason: AgentStopReason, finalText = lastText) => ({ finalText, turns, toolCalls, usage, stopReason });

  for (;;) {
    if (turns >= opts.maxTurns) return stop('maxTurns');
    if (usage.total >= opts.maxTotalTokens) return stop('maxTokens');
    signal?.throwIfAborted();

    const { model, instructions, reasoningEffort } = opts;
    const turnTrace = trace.turn(turns + 1);
    try {
      const turn = await turnTrace.call(() =>
        client.agentTurn({ model, instructions, messages, tools: specs, signal, reasoningEffort }),
      );
      turns++;
      if (turn.usage) addUsage(usage, turn.usage);
      lastText = turn.text;
      if (turn.toolCalls.length === 0) {
        turnTrace.end(0);
        return stop('completed', turn.text);
      }

      // The turn's reasoning goes back with its calls, so the model keeps its train of thought (Responses wire only).
      messages.push({ role: 'assistant', text: turn.text, toolCalls: turn.toolCalls, reasoning: turn.reasoning });
      for (const call of turn.toolCalls) {
        signal?.throwIfAborted();
        toolCalls++;
        const { args, output } = await traceToolCall(turnTrace, byName, call);
        opts.onToolCall?.(call.name, args, output);
        messages.push({ role: 'tool', callId: call.id, output });
      }
      turnTrace.end(turn.toolCalls.length);
    } catch (error) {
      turnTrace.fail(error);
      throw error;
    }
  }
}

/** A tool the model named that does not exist is traced as 'unknown': its name is the model's free text. */
function traceToolCall(
  turnTrace: TurnTrace,
  tools: Map<string, AgentTool>,
  call: { id: string; name: string; arguments: string },
) {
  const name = tools.has(call.name) ? call.name : 'unknown';
  return turnTrace.tool(name, call.id, () => runTool(tools, call.name, call.arguments));
}

async function runTool(
  tools: Map<string, AgentTool>,
  name: string,
  rawArgs: string,
): Promise<ToolCallOutcome & { args: unknown }> {
  let args: unknown;
  try {
    // Some providers send an empty string for a call without arguments.
    args = rawArgs.trim() === '' ? {} : JSON.parse(rawArgs);
  } catch (error) {
    const output = `error: the arguments are not valid JSON (${(error as Error).message}); send one JSON object`;
    return { args: rawArgs, output, errorType: 'invalid_arguments' };
  }
  const tool = tools.get(name);
  if (!tool) {
    const output = `error: there is no tool named "${name}"; available tools: ${[...tools.keys()].join(', ')}`;
    return { args, output, errorType: 'unknown_tool' };
  }
  try {
    return { args, output: await tool.execute(args), errorType: null };
  } catch (error) {
    return { args, output: `error: ${error instanceof Error ? error.message : String(error)}`, errorType: errorKind(error) };
  }
}

function addUsage(sum: TokenUsage, turn: TokenUsage): void {
  for (const key of Object.keys(sum) as Array<keyof TokenUsage>) sum[key] += turn[key];
}
