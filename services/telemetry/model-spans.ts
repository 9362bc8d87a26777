// One CLIENT span per model call, after OpenTelemetry's GenAI semantic conventions: `chat <model>` with the
// operation, provider, requested model and token usage. The request and the reply stay out: prompts hold
// transcripts, replies hold memories. A failure is marked with its error class (RetryableError, BadInputError,
// MalformedReplyError, …), which is also how the machines decide on a retry.
import type { ModelClient } from '../model/model-client.ts';
import type { TokenUsage } from '../types.ts';
import { activeTraceScope, errorKind, type SpanAttributes } from './trace-scope.ts';

/** Every call goes through the OpenAI API (Responses or Chat Completions), whichever server answers it. */
const PROVIDER = 'openai';

export function tracedModelClient(client: ModelClient): ModelClient {
  return {
    extractStage1: (req) =>
      traced(
        req.model,
        { 'memories.request': 'stage1', 'gen_ai.output.type': 'json' },
        () => client.extractStage1(req),
        (r) => ({
          ...usageAttributes(r.usage),
        }),
      ),
    agentTurn: (req) =>
      traced(
        req.model,
        { 'memories.request': 'agent_turn', 'gen_ai.output.type': 'text' },
        () => client.agentTurn(req),
        (r) => ({
          ...usageAttributes(r.usage),
          'memories.tool_calls': r.toolCalls.length,
        }),
      ),
  };
}

async function traced<R>(
  model: string,
  attributes: SpanAttributes,
  call: () => Promise<R>,
  describe: (result: R) => SpanAttributes,
): Promise<R> {
  const scope = activeTraceScope();
  if (!scope) return call();
  const span = scope.startSpan(
    `chat ${model}`,
    { 'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': PROVIDER, 'gen_ai.request.model': model, ...attributes },
    'client',
  );
  try {
    const result = await call();
    span.setAttributes(describe(result));
    return result;
  } catch (error) {
    span.fail(errorKind(error));
    throw error;
  } finally {
    span.end();
  }
}

function usageAttributes(usage: TokenUsage | null): SpanAttributes {
  if (!usage) return {};
  return {
    'gen_ai.usage.input_tokens': usage.input,
    'gen_ai.usage.output_tokens': usage.output,
    'gen_ai.usage.cache_read.input_tokens': usage.cachedInput,
    'gen_ai.usage.reasoning.output_tokens': usage.reasoningOutput,
  };
}
