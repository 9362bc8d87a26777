// What the model wires and the Batch API share: a reply's answer, request checks, OpenAI-style error bodies.
import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { ReasoningSpec, ToolCallSpec, UsageSpec, Wire } from './local-openai-server.ts';

/** What a reply says, whichever wire carries it. */
export type Answer = {
  text: string;
  toolCalls: Required<ToolCallSpec>[];
  usage: Required<UsageSpec> | null;
  reasoning: ReasoningSpec | null;
};

// Large replies are split into at most this many deltas, so a 10 MB text does not become 100k events.
const MAX_DELTAS = 16;
const MIN_DELTA_CHARS = 24;

/** `chars`: the length of the request body's JSON text. */
export function answerOf(
  reply: { text?: string; toolCalls?: ToolCallSpec[]; usage?: UsageSpec | null; reasoning?: ReasoningSpec },
  chars: number,
): Answer {
  const text = reply.text ?? '';
  const toolCalls = (reply.toolCalls ?? []).map((call, i) => ({ ...call, id: call.id ?? `call_${rid()}_${i}` }));
  // Without given counts, a rough chars/4 estimate keeps usage present and proportional without a tokenizer.
  const produced = text.length + toolCalls.reduce((n, c) => n + c.name.length + c.arguments.length, 0);
  const estimate = { input: Math.ceil(chars / 4), output: Math.ceil(produced / 4) };
  const usage = reply.usage === null ? null : { cachedInput: 0, reasoningOutput: 0, ...(reply.usage ?? estimate) };
  return { text, toolCalls, usage, reasoning: reply.reasoning ?? null };
}

const WIRES: Record<string, Wire | undefined> = { '/v1/responses': 'responses', '/v1/chat/completions': 'chat' };

/** The wire an endpoint path speaks, if any. */
export const wireOf = (path: string): Wire | undefined => WIRES[path];

/** Why the body is not a request of this wire, or null. */
export function validate(wire: Wire, body: any): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'request body must be a JSON object';
  if (typeof body.model !== 'string' || body.model === '') return "missing required parameter: 'model'";
  if (wire === 'responses' && typeof body.input !== 'string' && !Array.isArray(body.input)) {
    return "missing required parameter: 'input'";
  }
  if (wire === 'chat' && !Array.isArray(body.messages)) return "missing required parameter: 'messages'";
  return null;
}

export function errorBody(status: number, message = `${status} ${STATUS_CODES[status] ?? 'error'}`) {
  return { error: { message, type: status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null } };
}

export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

export const sendError = (res: ServerResponse, status: number, message: string) =>
  sendJson(res, status, errorBody(status, message));

/** The JSON a body holds; its text when it is not JSON, so that `validate` can say so. */
export function parseBody(text: string): unknown {
  try {
    return text === '' ? undefined : JSON.parse(text);
  } catch {
    return text; // not JSON
  }
}

export const rid = () => Math.random().toString(36).slice(2, 12);

/** The text cut into the deltas a stream sends it in. */
export function pieces(text: string): string[] {
  const size = Math.max(MIN_DELTA_CHARS, Math.ceil(text.length / MAX_DELTAS));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}
