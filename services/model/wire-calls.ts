// One call over each wire, streamed or not, through the SDK: the reply's text, tool calls and usage,
// capped in size, with a stream that goes silent cut off.
import { APIUserAbortError, type OpenAI } from 'openai';
import type { ChatCompletionChunk, ChatCompletionCreateParamsBase } from 'openai/resources/chat/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import type { Response, ResponseCreateParamsBase, ResponseUsage } from 'openai/resources/responses/responses';
import { MalformedReplyError, RetryableError } from '../errors.ts';
import type { TokenUsage } from '../types.ts';
import type { AgentReasoning, AgentToolCall, AgentTurnResult } from './model-client.ts';

/** A memory is a few kilobytes: a reply near this size is a runaway generation, not worth holding. */
export const MAX_REPLY_CHARS = 2_000_000;
/** After the last event the body is read to its end, not cut: cutting closes the keep-alive connection. */
const END_GRACE_MS = 1_000;

export interface CallContext {
  sdk: OpenAI;
  stream: boolean;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  /** Sent with this call only, on top of the client's own. */
  headers?: Record<string, string>;
}

export async function callResponses(ctx: CallContext, params: ResponseCreateParamsBase): Promise<AgentTurnResult> {
  const { sdk, signal, headers } = ctx;
  if (!ctx.stream) {
    const response = await sdk.responses.create({ ...params, stream: false }, { signal, headers });
    return { ...fromOutputItems(response.output), usage: responsesUsage(response.usage) };
  }
  const text = new TextBuffer();
  const doneItems: Response['output'] = [];
  let final: Response | null = null;
  await consume(ctx, await sdk.responses.create({ ...params, stream: true }, { signal, headers }), (event) => {
    switch (event.type) {
      case 'response.output_text.delta':
        text.add(event.delta);
        return false;
      case 'response.output_item.done':
        doneItems.push(event.item);
        return false;
      case 'response.completed':
        final = event.response;
        return true;
      case 'response.incomplete':
        throw new MalformedReplyError(
          `model reply is incomplete (${event.response.incomplete_details?.reason ?? 'unknown reason'})`,
        );
      case 'response.failed':
        throw new RetryableError(`model response failed: ${event.response.error?.message ?? 'no reason given'}`);
      case 'error':
        throw new RetryableError(`model stream reported an error: ${event.message}`);
      default:
        return false;
    }
  });
  const completed = final as Response | null;
  if (!completed) throw new RetryableError('model stream ended before response.completed');
  const fallback = fromOutputItems(doneItems.length > 0 ? doneItems : completed.output);
  // Codex uses the deltas and only falls back to the finished message when no delta arrived.
  return { ...fallback, text: text.seen ? text.value() : fallback.text, usage: responsesUsage(completed.usage) };
}

function fromOutputItems(items: Response['output']): Omit<AgentTurnResult, 'usage'> {
  const text = new TextBuffer();
  const toolCalls: AgentToolCall[] = [];
  const reasoning: AgentReasoning[] = [];
  for (const item of items) {
    if (item.type === 'function_call') toolCalls.push({ id: item.call_id, name: item.name, arguments: item.arguments });
    if (item.type === 'reasoning') {
      const summary = item.summary.map((part) => part.text);
      reasoning.push({ summary, encryptedContent: item.encrypted_content ?? null });
    }
    if (item.type !== 'message') continue;
    for (const part of item.content) {
      if (part.type === 'output_text') text.add(part.text);
      else if (part.type === 'refusal') throw refused(part.refusal);
    }
  }
  return { text: text.value(), toolCalls, reasoning };
}

export async function callChat(ctx: CallContext, params: ChatCompletionCreateParamsBase): Promise<AgentTurnResult> {
  const { sdk, signal, headers } = ctx;
  if (!ctx.stream) {
    const completion = await sdk.chat.completions.create({ ...params, stream: false }, { signal, headers });
    const choice = completion.choices[0];
    if (!choice) throw new MalformedReplyError('model reply has no choices');
    if (choice.message.refusal) throw refused(choice.message.refusal);
    const text = choice.message.content ?? '';
    if (text.length > MAX_REPLY_CHARS) throw tooLarge(text.length);
    checkFinish(choice.finish_reason);
    const toolCalls = (choice.message.tool_calls ?? []).flatMap((call) =>
      call.type === 'function' ? [{ id: call.id, name: call.function.name, arguments: call.function.arguments }] : [],
    );
    return { text, toolCalls, usage: chatUsage(completion.usage) };
  }
  const stream = await sdk.chat.completions.create(
    { ...params, stream: true, stream_options: { include_usage: true } },
    { signal, headers },
  );
  const text = new TextBuffer();
  const calls: { id: string; name: string; args: TextBuffer }[] = [];
  let finishReason: string | null = null;
  let usage: TokenUsage | null = null;
  await consume(ctx, stream, (chunk: ChatCompletionChunk) => {
    if (chunk.usage) usage = chatUsage(chunk.usage);
    const choice = chunk.choices[0];
    if (!choice) return false;
    if (choice.delta.refusal) throw refused(choice.delta.refusal);
    if (choice.delta.content) text.add(choice.delta.content);
    for (const delta of choice.delta.tool_calls ?? []) {
      const slot = calls[delta.index] ?? { id: '', name: '', args: new TextBuffer() };
      calls[delta.index] = slot;
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
  const toolCalls = calls.filter(Boolean).map((c, i) => ({ id: c.id || `call_${i}`, name: c.name, arguments: c.args.value() }));
  return { text: text.value(), toolCalls, usage };
}

function checkFinish(reason: string | null): void {
  if (reason === 'length') throw new MalformedReplyError('model reply was cut off at the output token limit');
  if (reason === 'content_filter') throw new MalformedReplyError('model reply was withheld by the content filter');
}

function responsesUsage(u: ResponseUsage | null | undefined): TokenUsage | null {
  const details = [u?.input_tokens_details?.cached_tokens, u?.output_tokens_details?.reasoning_tokens] as const;
  return u ? usageOf(u.input_tokens, u.output_tokens, ...details, u.total_tokens) : null;
}

function chatUsage(u: CompletionUsage | null | undefined): TokenUsage | null {
  const details = [u?.prompt_tokens_details?.cached_tokens, u?.completion_tokens_details?.reasoning_tokens] as const;
  return u ? usageOf(u.prompt_tokens, u.completion_tokens, ...details, u.total_tokens) : null;
}

function usageOf(input = 0, output = 0, cachedInput = 0, reasoningOutput = 0, total = input + output): TokenUsage {
  return { input, cachedInput, output, reasoningOutput, total };
}

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
  return new MalformedReplyError(
    `model reply exceeded ${MAX_REPLY_CHARS} characters (got at least ${chars}); refusing to keep it`,
  );
}

function refused(refusal: string): MalformedReplyError {
  return new MalformedReplyError(`model refused: ${refusal.slice(0, 200)}`);
}

// Feeds events to `onEvent` until it returns true; cuts a stall (the SDK's timeout ends at the headers) and rethrows
// an abort (the SDK's stream ends quietly).
async function consume<T>(
  ctx: CallContext,
  stream: AsyncIterable<T> & { controller: AbortController },
  onEvent: (event: T) => boolean,
): Promise<void> {
  let stalled = false;
  let finished = false;
  const abort = () => stream.controller.abort();
  const idle = setTimeout(() => {
    stalled = true;
    abort();
  }, ctx.timeoutMs);
  let ending: NodeJS.Timeout | undefined;
  try {
    for await (const event of stream) {
      if (finished) continue;
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
  if (ctx.signal?.aborted) throw new APIUserAbortError();
  if (stalled) throw new RetryableError(`model stream went silent for ${ctx.timeoutMs} ms`);
  // undici pools the socket a tick after the body ends; a call made at once would open another.
  await new Promise((resolve) => setImmediate(resolve));
}
