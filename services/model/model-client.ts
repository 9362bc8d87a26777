// The one place that talks to an LLM. It hides which wire the provider speaks (Responses or Chat
// Completions) and turns every way a call can fail into the error taxonomy the machines act on.
import { STATUS_CODES } from 'node:http';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsBase, ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { Response, ResponseCreateParamsBase, ResponseInputItem, ResponseStreamEvent, ResponseUsage } from 'openai/resources/responses/responses';
import type { CompletionUsage } from 'openai/resources/completions';
import { BadInputError, MalformedReplyError, RetryableError } from '../errors.ts';
import { parseStage1Reply } from '../extraction/stage-one-parse.ts';
import { stage1ResponseFormat, stage1TextFormat } from '../extraction/stage-one-schema.ts';
import type { Stage1Reply, TokenUsage } from '../types.ts';
import { nodeHttpFetch } from './http-fetch.ts';
import { SseReader, sseJson } from './sse-reader.ts';

export type WireApi = 'responses' | 'chat';

export interface ModelClientOptions {
  apiKey: string;
  baseURL?: string;
  wireApi: WireApi;
  /** Per attempt; also the longest silence tolerated inside a stream. */
  timeoutMs?: number;
  maxRetries?: number;
  stream?: boolean;
}

export interface Stage1Request {
  model: string;
  instructions: string;
  input: string;
  signal?: AbortSignal;
  promptCacheKey?: string;
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

/** Provider-neutral transcript of an agent conversation. */
export type AgentMessage =
  | { role: 'user'; text: string }
  | { role: 'assistant'; text: string; toolCalls?: AgentToolCall[] }
  | { role: 'tool'; callId: string; output: string };

export interface AgentTurnRequest {
  model: string;
  instructions: string;
  messages: AgentMessage[];
  tools: AgentToolSpec[];
  signal?: AbortSignal;
}

export interface AgentTurnResult {
  text: string;
  toolCalls: AgentToolCall[];
  usage: TokenUsage | null;
}

export interface ModelClient {
  extractStage1(req: Stage1Request): Promise<Stage1Result>;
  agentTurn(req: AgentTurnRequest): Promise<AgentTurnResult>;
}

const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_MAX_RETRIES = 2;
/**
 * A stage-1 memory is a few kilobytes; anything near this size is a runaway generation or a broken
 * server, and holding it (then JSON-parsing it) would only waste memory.
 */
export const MAX_REPLY_CHARS = 2_000_000;

interface Collected {
  text: string;
  toolCalls: AgentToolCall[];
  usage: TokenUsage | null;
}

export function createModelClient(options: ModelClientOptions): ModelClient {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const stream = options.stream ?? true;
  const sdk = new OpenAI({
    apiKey: options.apiKey,
    baseURL: options.baseURL,
    timeout: timeoutMs,
    maxRetries: options.maxRetries ?? DEFAULT_MAX_RETRIES,
    fetch: nodeHttpFetch,
  });
  const context = { sdk, stream, timeoutMs };

  return {
    async extractStage1(req) {
      const collected = await guarded(req.signal, () =>
        options.wireApi === 'responses'
          ? callResponses(context, stage1ResponsesParams(req), req.signal)
          : callChat(context, stage1ChatParams(req), req.signal),
      );
      return { reply: parseStage1Reply(collected.text), usage: collected.usage, rawText: collected.text };
    },
    async agentTurn(req) {
      return guarded(req.signal, () =>
        options.wireApi === 'responses'
          ? callResponses(context, agentResponsesParams(req), req.signal)
          : callChat(context, agentChatParams(req), req.signal),
      );
    },
  };
}

// ---- Request bodies ------------------------------------------------------------------------------

/** The Responses body of a stage-1 request; the batch path sends the same body. */
export function stage1ResponsesParams(req: Stage1Request): ResponseCreateParamsBase {
  return {
    model: req.model,
    instructions: req.instructions,
    input: [{ type: 'message', role: 'user', content: [{ type: 'input_text', text: req.input }] }],
    text: { format: stage1TextFormat },
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
    response_format: stage1ResponseFormat,
    ...(req.promptCacheKey ? { prompt_cache_key: req.promptCacheKey } : {}),
  };
}

function agentResponsesParams(req: AgentTurnRequest): ResponseCreateParamsBase {
  const input: ResponseInputItem[] = [];
  for (const message of req.messages) {
    if (message.role === 'user') {
      input.push({ type: 'message', role: 'user', content: [{ type: 'input_text', text: message.text }] });
    } else if (message.role === 'assistant') {
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
    store: false,
  };
}

function agentChatParams(req: AgentTurnRequest): ChatCompletionCreateParamsBase {
  const messages: ChatCompletionMessageParam[] = [{ role: 'system', content: req.instructions }];
  for (const message of req.messages) {
    if (message.role === 'user') {
      messages.push({ role: 'user', content: message.text });
    } else if (message.role === 'assistant') {
      const calls = message.toolCalls ?? [];
      messages.push({
        role: 'assistant',
        content: message.text === '' && calls.length > 0 ? null : message.text,
        ...(calls.length > 0
          ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function' as const, function: { name: c.name, arguments: c.arguments } })) }
          : {}),
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

// ---- Responses wire ------------------------------------------------------------------------------

interface CallContext {
  sdk: OpenAI;
  stream: boolean;
  timeoutMs: number;
}

async function callResponses(ctx: CallContext, params: ResponseCreateParamsBase, signal: AbortSignal | undefined): Promise<Collected> {
  if (!ctx.stream) {
    const response = await ctx.sdk.responses.create({ ...params, stream: false }, { signal });
    return fromResponse(response);
  }
  const response = await ctx.sdk.responses.create({ ...params, stream: true }, { signal }).asResponse();
  const reader = new SseReader(bodyOf(response));
  const events = sseJson<ResponseStreamEvent>(reader, response.headers, RESPONSES_EVENTS_USED);
  const text = new TextBuffer();
  const doneItems: Response['output'] = [];
  let completed: Response | null = null;

  await consume(events, () => reader.cancel(), ctx.timeoutMs, signal, (event: ResponseStreamEvent) => {
    switch (event.type) {
      case 'response.output_text.delta':
        text.add(event.delta);
        return false;
      case 'response.output_item.done':
        doneItems.push(event.item);
        return false;
      case 'response.completed':
        completed = event.response;
        return true;
      case 'response.incomplete':
        throw new MalformedReplyError(`model reply is incomplete (${event.response.incomplete_details?.reason ?? 'unknown reason'})`);
      case 'response.failed':
        throw new RetryableError(`model response failed: ${event.response.error?.message ?? 'no reason given'}`);
      case 'error':
        throw new RetryableError(`model stream reported an error: ${event.message}`);
      default:
        return false;
    }
  });

  const final = completed as Response | null;
  if (!final) throw new RetryableError('model stream ended before response.completed');
  const items = doneItems.length > 0 ? doneItems : final.output;
  const fallback = fromOutputItems(items);
  return {
    // Codex uses the deltas and only falls back to the finished message when no delta arrived.
    text: text.seen ? text.value() : fallback.text,
    toolCalls: fallback.toolCalls,
    usage: mapResponsesUsage(final.usage),
  };
}

function fromResponse(response: Response): Collected {
  return { ...fromOutputItems(response.output), usage: mapResponsesUsage(response.usage) };
}

function fromOutputItems(items: Response['output']): Omit<Collected, 'usage'> {
  const text = new TextBuffer();
  const toolCalls: AgentToolCall[] = [];
  for (const item of items) {
    if (item.type === 'message') {
      for (const part of item.content) {
        if (part.type === 'output_text') text.add(part.text);
        else if (part.type === 'refusal') throw new MalformedReplyError(`model refused: ${part.refusal.slice(0, 200)}`);
      }
    } else if (item.type === 'function_call') {
      toolCalls.push({ id: item.call_id, name: item.name, arguments: item.arguments });
    }
  }
  return { text: text.value(), toolCalls };
}

function mapResponsesUsage(usage: ResponseUsage | null | undefined): TokenUsage | null {
  if (!usage) return null;
  return {
    input: usage.input_tokens ?? 0,
    cachedInput: usage.input_tokens_details?.cached_tokens ?? 0,
    output: usage.output_tokens ?? 0,
    reasoningOutput: usage.output_tokens_details?.reasoning_tokens ?? 0,
    total: usage.total_tokens ?? (usage.input_tokens ?? 0) + (usage.output_tokens ?? 0),
  };
}

// ---- Chat Completions wire -----------------------------------------------------------------------

async function callChat(ctx: CallContext, params: ChatCompletionCreateParamsBase, signal: AbortSignal | undefined): Promise<Collected> {
  if (!ctx.stream) {
    const completion = await ctx.sdk.chat.completions.create({ ...params, stream: false }, { signal });
    const choice = completion.choices[0];
    if (!choice) throw new MalformedReplyError('model reply has no choices');
    if (choice.message.refusal) throw new MalformedReplyError(`model refused: ${choice.message.refusal.slice(0, 200)}`);
    const content = choice.message.content ?? '';
    if (content.length > MAX_REPLY_CHARS) throw tooLarge(content.length);
    checkFinish(choice.finish_reason);
    const toolCalls: AgentToolCall[] = [];
    for (const call of choice.message.tool_calls ?? []) {
      if (call.type === 'function') toolCalls.push({ id: call.id, name: call.function.name, arguments: call.function.arguments });
    }
    return { text: content, toolCalls, usage: mapChatUsage(completion.usage) };
  }

  const response = await ctx.sdk.chat.completions
    .create({ ...params, stream: true, stream_options: { include_usage: true } }, { signal })
    .asResponse();
  const reader = new SseReader(bodyOf(response));
  const chunks = sseJson<ChatCompletionChunk>(reader, response.headers);
  const text = new TextBuffer();
  const calls: { id: string; name: string; args: TextBuffer }[] = [];
  let finishReason: string | null = null;
  let usage: TokenUsage | null = null;

  await consume(chunks, () => reader.cancel(), ctx.timeoutMs, signal, (chunk: ChatCompletionChunk) => {
    if (chunk.usage) usage = mapChatUsage(chunk.usage);
    const choice = chunk.choices[0];
    if (!choice) return false;
    if (choice.delta.refusal) throw new MalformedReplyError(`model refused: ${choice.delta.refusal.slice(0, 200)}`);
    if (choice.delta.content) text.add(choice.delta.content);
    for (const delta of choice.delta.tool_calls ?? []) {
      const slot = (calls[delta.index] ??= { id: '', name: '', args: new TextBuffer() });
      if (delta.id) slot.id = delta.id;
      if (delta.function?.name) slot.name += delta.function.name;
      if (delta.function?.arguments) slot.args.add(delta.function.arguments);
    }
    if (choice.finish_reason) finishReason = choice.finish_reason;
    return false;
  });

  // Without a finish_reason the stream was cut short, even if the transport closed cleanly.
  if (finishReason === null) throw new RetryableError('model stream ended before a finish_reason');
  checkFinish(finishReason);
  return {
    text: text.value(),
    toolCalls: calls.filter(Boolean).map((c, i) => ({ id: c.id || `call_${i}`, name: c.name, arguments: c.args.value() })),
    usage,
  };
}

function checkFinish(reason: string | null): void {
  if (reason === 'length') throw new MalformedReplyError('model reply was cut off at the output token limit');
  if (reason === 'content_filter') throw new MalformedReplyError('model reply was withheld by the content filter');
}

function mapChatUsage(usage: CompletionUsage | null | undefined): TokenUsage | null {
  if (!usage) return null;
  return {
    input: usage.prompt_tokens ?? 0,
    cachedInput: usage.prompt_tokens_details?.cached_tokens ?? 0,
    output: usage.completion_tokens ?? 0,
    reasoningOutput: usage.completion_tokens_details?.reasoning_tokens ?? 0,
    total: usage.total_tokens ?? (usage.prompt_tokens ?? 0) + (usage.completion_tokens ?? 0),
  };
}

// ---- Shared stream handling ----------------------------------------------------------------------

/** Accumulates streamed text and refuses to grow past MAX_REPLY_CHARS. */
class TextBuffer {
  private parts: string[] = [];
  private length = 0;
  seen = false;

  add(piece: string): void {
    this.seen = true;
    this.length += piece.length;
    if (this.length > MAX_REPLY_CHARS) throw tooLarge(this.length);
    this.parts.push(piece);
  }

  value(): string {
    return this.parts.join('');
  }
}

function tooLarge(chars: number): MalformedReplyError {
  return new MalformedReplyError(`model reply exceeded ${MAX_REPLY_CHARS} characters (got at least ${chars}); refusing to keep it`);
}

/** The Responses stream events the reply is built from (and `error`); the rest go unparsed. */
const RESPONSES_EVENTS_USED: ReadonlySet<string> = new Set([
  'response.output_text.delta',
  'response.output_item.done',
  'response.completed',
  'response.incomplete',
  'response.failed',
  'error',
]);

function bodyOf(response: globalThis.Response): ReadableStream<Uint8Array> {
  if (response.body === null) throw new RetryableError('model answer had no body to stream');
  return response.body;
}

/**
 * Once the event that ends a reply has come, the rest of the body is read rather than the request
 * broken off: breaking off aborts it, and with it the keep-alive connection, so every call would
 * open a new one (a TLS handshake apiece). A stream that does not end soon after is cut all the same.
 */
const END_GRACE_MS = 1_000;
const MAX_EVENTS_AFTER_END = 16;

/**
 * Feeds stream events to `onEvent` until it returns true or the stream ends. The SDK's timeout only
 * covers the wait for response headers, so a stream that stalls afterwards is cut off here (`abort`
 * cancels the body), and a stream that ends quietly because our signal aborted it is turned back
 * into an abort error.
 */
async function consume<T>(
  stream: AsyncIterable<T>,
  abort: () => void,
  idleMs: number,
  signal: AbortSignal | undefined,
  onEvent: (event: T) => boolean,
): Promise<void> {
  let stalled = false;
  let finished = false;
  let after = 0;
  const idle = setTimeout(() => {
    stalled = true;
    abort();
  }, idleMs);
  let ending: NodeJS.Timeout | undefined;
  try {
    for await (const event of stream) {
      if (finished) {
        if (++after > MAX_EVENTS_AFTER_END) break;
        continue;
      }
      idle.refresh(); // restarts the wait without a new timer per event
      if (onEvent(event)) {
        finished = true;
        clearTimeout(idle);
        ending = setTimeout(abort, END_GRACE_MS);
      }
    }
  } catch (error) {
    // After the reply is complete, nothing the rest of the body does can spoil it.
    if (!stalled && !finished) throw error;
  } finally {
    clearTimeout(idle);
    clearTimeout(ending);
  }
  if (signal?.aborted) throw new APIUserAbortError();
  if (stalled) throw new RetryableError(`model stream went silent for ${idleMs} ms`);
}

// ---- Error mapping -------------------------------------------------------------------------------

async function guarded<T>(signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw classify(error, signal);
  }
}

function classify(error: unknown, signal: AbortSignal | undefined): unknown {
  if (error instanceof APIUserAbortError) return error;
  if (error instanceof RetryableError || error instanceof MalformedReplyError || error instanceof BadInputError) return error;
  if (signal?.aborted) return new APIUserAbortError();
  if (error instanceof APIConnectionTimeoutError) return new RetryableError('model request timed out', { cause: error });
  if (error instanceof APIConnectionError) {
    return new RetryableError(`could not reach the model server: ${causeMessage(error)}`, { cause: error });
  }
  if (error instanceof APIError) {
    const status = error.status;
    const serverMessage = messageOf(error);
    if (status === undefined) return new RetryableError(`model stream reported an error: ${serverMessage}`, { cause: error });
    const label = `${status} ${STATUS_CODES[status] ?? 'Unknown Status'}`;
    if (status === 408 || status === 409 || status === 429 || status >= 500) {
      return new RetryableError(`model request failed (${label}): ${serverMessage}`, {
        cause: error,
        retryAfterMs: retryAfterFrom(error.headers),
      });
    }
    return new BadInputError(`model request rejected (${label}): ${serverMessage}`, { cause: error });
  }
  // Anything else comes from the transport or a body decoder after the headers arrived (socket reset,
  // truncated JSON or SSE event): the answer never arrived whole, which a later attempt can fix.
  return new RetryableError(`model answer was cut off or unreadable: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}

function messageOf(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  if (body && typeof body.message === 'string') return body.message;
  return error.message;
}

function causeMessage(error: APIConnectionError): string {
  const cause = error.cause as { message?: string; cause?: { code?: string } } | undefined;
  return cause?.cause?.code ?? cause?.message ?? error.message;
}

function retryAfterFrom(headers: Headers | undefined): number | null {
  const ms = headers?.get('retry-after-ms');
  if (ms) {
    const value = Number.parseFloat(ms);
    if (Number.isFinite(value) && value >= 0) return value;
  }
  const after = headers?.get('retry-after');
  if (after) {
    const seconds = Number.parseFloat(after);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
    const date = Date.parse(after);
    if (Number.isFinite(date)) return Math.max(0, date - Date.now());
  }
  return null;
}
