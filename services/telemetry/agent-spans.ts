// The consolidation agent's spans, after OpenTelemetry's GenAI conventions: one `invoke_agent` span per run of
// the loop, a span per turn (its model call nests inside, see model-spans.ts), an `execute_tool` span per tool
// call. They carry counts, ids, names and error kinds; never a prompt, an argument, a tool's output or a file.
// Without a trace scope (no exporter configured) every method is a no-op that calls straight through.
import type { TokenUsage } from '../types.ts';
import { activeTraceScope, errorKind, type SpanHandle, type TraceScope } from './trace-scope.ts';

export interface AgentRunSummary {
  turns: number;
  toolCalls: number;
  stopReason: string;
  usage: TokenUsage;
}

/** A tool call's result as a span sees it: whether and how it failed, and how long its output was. */
export interface ToolCallOutcome {
  output: string;
  /** The tool's error kind ('invalid_arguments', 'unknown_tool', an error class), or null. */
  errorType: string | null;
}

export interface AgentTrace {
  /** Runs the loop with the agent span as the parent of its turns. */
  run<T>(fn: () => Promise<T>): Promise<T>;
  turn(n: number): TurnTrace;
  end(summary: AgentRunSummary): void;
  fail(error: unknown): void;
}

export interface TurnTrace {
  /** Runs the turn's model call inside the turn span. */
  call<T>(fn: () => Promise<T>): Promise<T>;
  tool<T extends ToolCallOutcome>(name: string, callId: string, fn: () => Promise<T>): Promise<T>;
  end(toolCalls: number): void;
  fail(error: unknown): void;
}

const untraced: AgentTrace & TurnTrace = {
  run: (fn) => fn(),
  call: (fn) => fn(),
  tool: (_name, _id, fn) => fn(),
  turn: () => untraced,
  end: () => {},
  fail: () => {},
};

export function traceAgent(agentName: string, model: string): AgentTrace {
  const scope = activeTraceScope();
  if (!scope) return untraced;
  const span = scope.startSpan(`invoke_agent ${agentName}`, {
    'gen_ai.operation.name': 'invoke_agent',
    'gen_ai.agent.name': agentName,
    'gen_ai.request.model': model,
  });
  const inside = scope.under(span);
  return {
    run: (fn) => inside.run(fn),
    turn: (n) => traceTurn(inside, n),
    end(summary) {
      span.setAttributes({
        'memories.agent.turns': summary.turns,
        'memories.agent.tool_calls': summary.toolCalls,
        'memories.agent.stop_reason': summary.stopReason,
        'gen_ai.usage.input_tokens': summary.usage.input,
        'gen_ai.usage.output_tokens': summary.usage.output,
      });
      span.end();
    },
    fail: (error) => failAndEnd(span, errorKind(error)),
  };
}

function traceTurn(scope: TraceScope, n: number): TurnTrace {
  const span = scope.startSpan('memories.agent.turn', { 'memories.agent.turn': n });
  const inside = scope.under(span);
  return {
    call: (fn) => inside.run(fn),
    async tool(name, callId, fn) {
      const attributes = {
        'gen_ai.operation.name': 'execute_tool',
        'gen_ai.tool.name': name,
        'gen_ai.tool.type': 'function',
        'gen_ai.tool.call.id': callId,
      };
      const toolSpan = inside.startSpan(`execute_tool ${name}`, attributes);
      try {
        const outcome = await fn();
        toolSpan.setAttributes({ 'memories.tool.output_chars': outcome.output.length });
        if (outcome.errorType !== null) toolSpan.fail(outcome.errorType);
        return outcome;
      } catch (error) {
        toolSpan.fail(errorKind(error));
        throw error;
      } finally {
        toolSpan.end();
      }
    },
    end(toolCalls) {
      span.setAttributes({ 'memories.agent.tool_calls': toolCalls });
      span.end();
    },
    fail: (error) => failAndEnd(span, errorKind(error)),
  };
}

function failAndEnd(span: SpanHandle, errorType: string): void {
  span.fail(errorType);
  span.end();
}
