// The one place that talks to an LLM. It hides which wire the provider speaks (Responses or Chat
// Completions) and turns every way a call can fail into the error taxonomy the machines act on.
import { STATUS_CODES } from 'node:http';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionCreateParamsBase, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ResponseCreateParamsBase, ResponseInputItem, ResponseReasoningItem } from 'openai/resources/responses/responses';
import { BadInputError, errorMessage, MalformedReplyError, RetryableError } from '../errors.ts';
import { parseStage1Reply } from '../extraction/stage-one-parse.ts';
import { stage1ResponseFormatFor, stage1TextFormatFor } from '../extraction/stage-one-schema.ts';
import type { LayoutVersion } from '../memory-folder/layout.ts';
import type { Stage1Reply, TokenUsage } from '../types.ts';
import {
  CONSOLIDATION_HEADERS,
  CODEX_REQUEST_SETTINGS,
  extractSettings,
  type PhaseSettings,
  type ReasoningEffort,
  RefusedSettings,
  type RequestSettings,
  reasoningFields,
  resolveSettings,
  verbosityField,
} from './request-settings.ts';
import { unreachableServer } from './unreachable-server.ts';
import { callChat, callResponses } from './wire-calls.ts';

export { MAX_REPLY_CHARS } from './wire-calls.ts';

export type WireApi = 'responses' | 'chat';

export interface ModelClientOptions extends RequestSettings {
  apiKey: string;
  baseURL?: string;
  wireApi: WireApi;
  /** Per attempt; also the longest silence tolerated inside a stream. */
  timeoutMs?: number;
  /** Streams by default, as Codex does. */
  stream?: boolean;
  /** The provider's http_headers and env_http_headers, sent on every request. */
  defaultHeaders?: Record<string, string>;
  /** The provider's query_params, appended to every request URL. */
  defaultQuery?: Record<string, string>;
}

export interface Stage1Request {
  model: string;
  instructions: string;
  input: string;
  signal?: AbortSignal;
  promptCacheKey?: string;
  /** The memory layout: v2 asks for (and accepts) no raw memory. Default v1. */
  version?: LayoutVersion;
}

export interface Stage1Result {
  reply: Stage1Reply;
  usage: TokenUsage | null;
  rawText: string;
}

export interface AgentToolSpec {
  name: string;
  description: string;
  /** JSON schema of the arguments object. */
  parameters: object;
}

export interface AgentToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** A Responses reasoning item of one turn, kept to be passed back in the next (the chat wire has none). */
export interface AgentReasoning {
  summary: string[];
  /** Present when the request asked for `reasoning.encrypted_content`: the only copy of an unstored turn's reasoning. */
  encryptedContent: string | null;
}

/** Provider-neutral transcript of an agent conversation. */
export type AgentMessage =
  | { role: 'user'; text: string }
  | { role: 'assistant'; text: string; toolCalls?: AgentToolCall[]; reasoning?: AgentReasoning[] }
  | { role: 'tool'; callId: string; output: string };

export interface AgentTurnRequest {
  model: string;
  instructions: string;
  messages: AgentMessage[];
  tools: AgentToolSpec[];
  signal?: AbortSignal;
  /** Overrides the client's `consolidationReasoningEffort` for this turn. */
  reasoningEffort?: ReasoningEffort;
}

export interface AgentTurnResult {
  text: string;
  toolCalls: AgentToolCall[];
  usage: TokenUsage | null;
  reasoning?: AgentReasoning[];
}

export interface ModelClient {
  extractStage1(req: Stage1Request): Promise<Stage1Result>;
  agentTurn(req: AgentTurnRequest): Promise<AgentTurnResult>;
}

const DEFAULT_TIMEOUT_MS = 600_000;

export function createModelClient(options: ModelClientOptions): ModelClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  // The machines' RetryPolicy is the only retry loop: SDK retries inside it would multiply attempts.
  const { apiKey, baseURL, defaultHeaders, defaultQuery } = options;
  const sdk = new OpenAI({ apiKey, baseURL, defaultHeaders, defaultQuery, timeout: timeoutMs, maxRetries: 0, logLevel: 'off' });
  const settings = resolveSettings(options);
  const refused = new RefusedSettings();
  const call = async <R extends { signal?: AbortSignal }>(
    req: R,
    responsesBody: (req: R) => ResponseCreateParamsBase,
    chatBody: (req: R) => ChatCompletionCreateParamsBase,
    headers?: Record<string, string>,
  ): Promise<AgentTurnResult> => {
    const ctx = { sdk, stream: options.stream ?? true, timeoutMs, signal: req.signal, headers };
    const send = () => (options.wireApi === 'responses' ? callResponses(ctx, responsesBody(req)) : callChat(ctx, chatBody(req)));
    try {
      // The body is rebuilt after `learn`, without the setting the server refused (see RefusedSettings).
      return await send().catch((error: unknown) => {
        if (options.wireApi !== 'responses' || !refused.learn(error)) throw error;
        return send();
      });
    } catch (error) {
      throw classify(error, req.signal, sdk.baseURL);
    }
  };
  return {
    async extractStage1(req) {
      const phase = extractSettings(settings);
      const { text, usage } = await call(req, (r) => stage1ResponsesParams(r, phase, refused), stage1ChatParams);
      return { reply: parseStage1Reply(text, req.version), usage, rawText: text };
    },
    // The consolidation agent is the only agent this tool runs, so every agent turn carries its marker.
    agentTurn: (req) => {
      const effort = req.reasoningEffort === undefined ? settings.consolidationReasoningEffort : req.reasoningEffort;
      return call(req, (r) => agentResponsesParams(r, effort, refused), agentChatParams, { ...CONSOLIDATION_HEADERS });
    },
  };
}

/** The Responses body of a stage-1 request; the batch path sends the same body, with Codex's settings. */
export function stage1ResponsesParams(
  req: Stage1Request,
  phase: PhaseSettings = extractSettings(CODEX_REQUEST_SETTINGS),
  refused = new RefusedSettings(),
): ResponseCreateParamsBase {
  return {
    model: req.model,
    instructions: req.instructions,
    input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: req.input }] }],
    text: { format: stage1TextFormatFor(req.version ?? 'v1'), ...verbosityField(phase.verbosity, refused) },
    ...reasoningFields(phase.effort, refused),
    store: false,
    parallel_tool_calls: false,
    ...(req.promptCacheKey ? { prompt_cache_key: req.promptCacheKey } : {}),
  };
}

function stage1ChatParams(req: Stage1Request): ChatCompletionCreateParamsBase {
  return {
    model: req.model,
    messages: [
      { role: 'system', content: req.instructions },
      { role: 'user', content: req.input },
    ],
    response_format: stage1ResponseFormatFor(req.version ?? 'v1'),
    ...(req.promptCacheKey ? { prompt_cache_key: req.promptCacheKey } : {}),
  };
}

// Reasoning settings go on the Responses wire only: the chat wire here serves local OpenAI-compatible servers,
// several of which reject unknown fields, and Codex itself sends these requests over Responses alone.
function agentResponsesParams(
  req: AgentTurnRequest,
  effort: ReasoningEffort,
  refused: RefusedSettings,
): ResponseCreateParamsBase {
  const input: ResponseInputItem[] = [];
  for (const message of req.messages) {
    if (message.role === 'user') {
      input.push({ type: 'message', role: 'user', content: [{ type: 'input_text', text: message.text }] });
    } else if (message.role === 'assistant') {
      // With store: false the server keeps nothing: the next turn reasons on only if its items come back, as in Codex.
      // One without encrypted content (not asked for) would have to be looked up by its id, and nothing was stored.
      const passed = refused.reasoning ? [] : (message.reasoning ?? []).filter((item) => item.encryptedContent !== null);
      for (const item of passed) input.push(reasoningInput(item));
      if (message.text !== '') input.push({ type: 'message', role: 'assistant', content: message.text });
      for (const call of message.toolCalls ?? []) {
        input.push({ type: 'function_call', call_id: call.id, name: call.name, arguments: call.arguments });
      }
    } else {
      input.push({ type: 'function_call_output', call_id: message.callId, output: message.output });
    }
  }
  return {
    model: req.model,
    instructions: req.instructions,
    input,
    tools: req.tools.map((tool) => ({
      type: 'function',
      name: tool.name,
      description: tool.description,
      parameters: tool.parameters as Record<string, unknown>,
      strict: false,
    })),
    ...reasoningFields(effort, refused),
    store: false,
  };
}

/** Without `id`, as Codex sends it: an unstored item cannot be looked up, its encrypted content carries it. */
function reasoningInput(item: AgentReasoning): ResponseInputItem {
  const summary = item.summary.map((text) => ({ type: 'summary_text' as const, text }));
  return { type: 'reasoning', summary, encrypted_content: item.encryptedContent } as ResponseReasoningItem;
}

function agentChatParams(req: AgentTurnRequest): ChatCompletionCreateParamsBase {
  const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: req.instructions }];
  for (const message of req.messages) {
    if (message.role === 'user') {
      messages.push({ role: 'user', content: message.text });
    } else if (message.role === 'assistant') {
      const calls = message.toolCalls?.length ? message.toolCalls : undefined;
      const toolCalls = calls?.map((c) => ({
        id: c.id,
        type: 'function' as const,
        function: { name: c.name, arguments: c.arguments },
      }));
      messages.push({
        role: 'assistant',
        content: message.text === '' && calls ? null : message.text,
        ...(calls ? { tool_calls: toolCalls } : {}),
      });
    } else {
      messages.push({ role: 'tool', tool_call_id: message.callId, content: message.output });
    }
  }
  return {
    model: req.model,
    messages,
    tools: req.tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.parameters as Record<string, unknown> },
    })),
  };
}

/** Every way a call fails, as the error taxonomy the machines act on. */
function classify(error: unknown, signal: AbortSignal | undefined, baseURL: string): unknown {
  if (error instanceof APIUserAbortError) return error;
  if (error instanceof RetryableError || error instanceof MalformedReplyError || error instanceof BadInputError) return error;
  if (signal?.aborted) return new APIUserAbortError();
  if (error instanceof APIConnectionTimeoutError) return new RetryableError('model request timed out', { cause: error });
  if (error instanceof APIConnectionError) {
    return unreachableServer(baseURL, error.cause, error.message, error);
  }
  if (error instanceof APIError) {
    const { status } = error;
    const body = error.error as { message?: unknown } | undefined;
    const serverMessage = typeof body?.message === 'string' ? body.message : error.message;
    if (status === undefined) return new RetryableError(`model stream reported an error: ${serverMessage}`, { cause: error });
    const label = `${status} ${STATUS_CODES[status] ?? 'Unknown Status'}`;
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      const retryAfterMs = retryAfterFrom(error.headers);
      return new RetryableError(`model request failed (${label}): ${serverMessage}`, { cause: error, retryAfterMs });
    }
    return new BadInputError(`model request rejected (${label}): ${serverMessage}`, { cause: error });
  }
  // Anything else broke after the headers (socket reset, truncated JSON or SSE): a later attempt can fix it.
  return new RetryableError(`model answer was cut off or unreadable: ${errorMessage(error)}`, { cause: error });
}

function retryAfterFrom(headers: Headers | undefined): number | null {
  const ms = Number.parseFloat(headers?.get('retry-after-ms') ?? '');
  if (ms >= 0) return ms;
  const after = headers?.get('retry-after') ?? '';
  const seconds = Number.parseFloat(after);
  if (seconds >= 0) return seconds * 1000;
  const date = Date.parse(after);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : null;
}
