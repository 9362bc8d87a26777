// The bundled local OpenAI-compatible server. The demo and the benchmarks run the pipeline against it,
// and the tests use it as the only stand-in for an LLM, so it speaks the wire protocol closely enough
// for the real `openai` SDK (JSON and SSE, Responses and Chat Completions) and can inject the faults
// real providers produce: HTTP errors, hangs and connections dropped mid-stream.
import { createServer, STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type Wire = 'responses' | 'chat';

/** Token counts to report; `null` on a reply means "send no usage at all". */
export interface UsageSpec {
  input: number;
  output: number;
  cachedInput?: number;
  reasoningOutput?: number;
}

export interface ToolCallSpec {
  id?: string;
  name: string;
  arguments: string;
}

export type Reply =
  | { text: string; usage?: UsageSpec | null }
  | { toolCalls: ToolCallSpec[]; text?: string; usage?: UsageSpec | null }
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | { hangMs: number }
  /** Starts the answer, then destroys the socket; `stallMs` keeps it silently open first. */
  | { dropAfterBytes: number; text: string; stallMs?: number }
  | { raw: string };

export interface HandlerRequest {
  wire: Wire;
  body: any;
  /** 0-based position of this request among all model requests the server received. */
  index: number;
}

export type Handler = (req: HandlerRequest) => Reply | Promise<Reply>;

export interface RecordedRequest {
  path: string;
  body: any;
  headers: Record<string, string | string[] | undefined>;
}

export interface LocalOpenAIServer {
  /** Base URL to give the SDK, ending in /v1. */
  url: string;
  port: number;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export interface LocalOpenAIServerOptions {
  handler: Handler;
  /** Fixed delay before every answer, to model a provider's response time in benchmarks. */
  latencyMs?: number;
}

// Large replies are split into at most this many deltas, so a 10 MB text does not become 100k events.
const MAX_DELTAS = 16;
const MIN_DELTA_CHARS = 24;

export async function startLocalOpenAIServer(options: LocalOpenAIServerOptions): Promise<LocalOpenAIServer> {
  const requests: RecordedRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let nextIndex = 0;

  // Timers are tracked so close() can cancel hangs and latency waits instead of waiting them out.
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const server = createServer((req, res) => {
    handleRequest(req, res).catch((error: unknown) => {
      // Last line of defence: whatever went wrong, the server keeps serving other requests.
      if (!res.headersSent && !res.destroyed) {
        sendError(res, 500, `local server failure: ${error instanceof Error ? error.message : String(error)}`, 'server_error');
      } else {
        res.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const raw = await readBody(req);
    let body: any;
    try {
      body = raw.length === 0 ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    requests.push({ path, body, headers: { ...req.headers } });

    const wire = wireFor(req.method, path);
    if (!wire) {
      sendError(res, 404, `no route for ${req.method} ${path}`, 'invalid_request_error');
      return;
    }
    const problem = validate(wire, body);
    if (problem) {
      sendError(res, 400, problem, 'invalid_request_error');
      return;
    }

    const reply = await options.handler({ wire, body, index: nextIndex++ });
    if (options.latencyMs) await sleep(options.latencyMs);
    if (closed || clientGone(res)) return;
    await sendReply(res, wire, body, reply);
  }

  async function sendReply(res: ServerResponse, wire: Wire, body: any, reply: Reply): Promise<void> {
    if ('hangMs' in reply) {
      await sleep(reply.hangMs);
      if (!closed && !clientGone(res)) sendError(res, 504, `no answer within ${reply.hangMs} ms`, 'server_error');
      return;
    }
    if ('status' in reply) {
      const payload =
        reply.body === undefined
          ? errorBody(`${reply.status} ${STATUS_CODES[reply.status] ?? 'error'}`, reply.status >= 500 ? 'server_error' : 'invalid_request_error')
          : reply.body;
      const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(text);
      return;
    }
    if ('raw' in reply) {
      res.writeHead(200, { 'content-type': body.stream ? 'text/event-stream' : 'application/json' });
      res.end(reply.raw);
      return;
    }
    const streaming = body.stream === true;
    const usage = resolveUsage(body, reply);
    const message: Message = {
      text: 'toolCalls' in reply ? (reply.text ?? '') : reply.text,
      toolCalls: 'toolCalls' in reply ? reply.toolCalls.map((call, i) => ({ ...call, id: call.id ?? `call_${rid()}_${i}` })) : [],
    };
    const payload = streaming
      ? wire === 'responses'
        ? responsesEvents(body, message, usage)
        : chatChunks(body, message, usage)
      : JSON.stringify(wire === 'responses' ? responsesObject(body, message, usage, 'completed') : chatObject(body, message, usage));
    const headers = streaming
      ? { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }
      : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };

    if ('dropAfterBytes' in reply) {
      const bytes = Buffer.from(payload);
      res.writeHead(200, headers);
      res.write(bytes.subarray(0, Math.min(reply.dropAfterBytes, bytes.length)));
      // Give the bytes a moment to reach the client so it sees a started-then-broken answer.
      await sleep(reply.stallMs ?? 20);
      res.destroy();
      return;
    }
    res.writeHead(200, headers);
    res.end(payload);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    async close() {
      if (closed) return;
      closed = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      const done = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets would otherwise hold the process (and the test runner) open.
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
      await done;
    },
  };
}

interface Message {
  text: string;
  toolCalls: Required<ToolCallSpec>[];
}

interface Usage {
  input: number;
  output: number;
  cachedInput: number;
  reasoningOutput: number;
}

function clientGone(res: ServerResponse): boolean {
  return res.destroyed || !res.socket || res.socket.destroyed;
}

function wireFor(method: string | undefined, path: string): Wire | null {
  if (method !== 'POST') return null;
  if (path === '/v1/responses') return 'responses';
  if (path === '/v1/chat/completions') return 'chat';
  return null;
}

function validate(wire: Wire, body: unknown): string | null {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'request body must be a JSON object';
  const record = body as Record<string, unknown>;
  if (typeof record.model !== 'string' || record.model === '') return "missing required parameter: 'model'";
  if (wire === 'responses' && typeof record.input !== 'string' && !Array.isArray(record.input)) {
    return "missing required parameter: 'input'";
  }
  if (wire === 'chat' && !Array.isArray(record.messages)) return "missing required parameter: 'messages'";
  return null;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function errorBody(message: string, type: string) {
  return { error: { message, type, param: null, code: null } };
}

function sendError(res: ServerResponse, status: number, message: string, type: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(errorBody(message, type)));
}

function resolveUsage(body: unknown, reply: { usage?: UsageSpec | null; text?: string; toolCalls?: ToolCallSpec[] }): Usage | null {
  if (reply.usage === null) return null;
  if (reply.usage) {
    return {
      input: reply.usage.input,
      output: reply.usage.output,
      cachedInput: reply.usage.cachedInput ?? 0,
      reasoningOutput: reply.usage.reasoningOutput ?? 0,
    };
  }
  // A rough chars/4 estimate keeps usage present and proportional without a tokenizer.
  const produced = (reply.text ?? '').length + (reply.toolCalls ?? []).reduce((n, c) => n + c.name.length + c.arguments.length, 0);
  return {
    input: Math.ceil(JSON.stringify(body).length / 4),
    output: Math.ceil(produced / 4),
    cachedInput: 0,
    reasoningOutput: 0,
  };
}

function rid(): string {
  return Math.random().toString(36).slice(2, 12);
}

function pieces(text: string): string[] {
  if (text.length === 0) return [];
  const size = Math.max(MIN_DELTA_CHARS, Math.ceil(text.length / MAX_DELTAS));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

// ---- Responses API -------------------------------------------------------------------------------

function responsesUsage(usage: Usage | null) {
  if (!usage) return null;
  return {
    input_tokens: usage.input,
    input_tokens_details: { cached_tokens: usage.cachedInput },
    output_tokens: usage.output,
    output_tokens_details: { reasoning_tokens: usage.reasoningOutput },
    total_tokens: usage.input + usage.output,
  };
}

function messageItem(id: string, text: string, status: 'in_progress' | 'completed') {
  return {
    type: 'message',
    id,
    status,
    role: 'assistant',
    content: status === 'completed' ? [{ type: 'output_text', text, annotations: [] }] : [],
  };
}

function functionCallItem(call: Required<ToolCallSpec>, status: 'in_progress' | 'completed') {
  return {
    type: 'function_call',
    id: `fc_${call.id}`,
    call_id: call.id,
    name: call.name,
    arguments: status === 'completed' ? call.arguments : '',
    status,
  };
}

function outputItems(message: Message, messageId: string) {
  const items: unknown[] = [];
  if (message.text !== '' || message.toolCalls.length === 0) items.push(messageItem(messageId, message.text, 'completed'));
  for (const call of message.toolCalls) items.push(functionCallItem(call, 'completed'));
  return items;
}

function responsesObject(body: any, message: Message, usage: Usage | null, status: 'in_progress' | 'completed', id = `resp_${rid()}`, messageId = `msg_${rid()}`) {
  return {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    model: body.model,
    instructions: body.instructions ?? null,
    output: status === 'completed' ? outputItems(message, messageId) : [],
    parallel_tool_calls: body.parallel_tool_calls ?? true,
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    text: body.text ?? { format: { type: 'text' } },
    temperature: null,
    top_p: null,
    error: null,
    incomplete_details: null,
    metadata: {},
    usage: status === 'completed' ? responsesUsage(usage) : null,
  };
}

function responsesEvents(body: any, message: Message, usage: Usage | null): string {
  const responseId = `resp_${rid()}`;
  const messageId = `msg_${rid()}`;
  const events: Record<string, unknown>[] = [];
  const emit = (type: string, fields: Record<string, unknown>) => events.push({ type, ...fields });

  emit('response.created', { response: responsesObject(body, message, usage, 'in_progress', responseId, messageId) });
  emit('response.in_progress', { response: responsesObject(body, message, usage, 'in_progress', responseId, messageId) });
  let outputIndex = 0;
  if (message.text !== '' || message.toolCalls.length === 0) {
    const at = { item_id: messageId, output_index: outputIndex, content_index: 0 };
    emit('response.output_item.added', { output_index: outputIndex, item: messageItem(messageId, '', 'in_progress') });
    emit('response.content_part.added', { ...at, part: { type: 'output_text', text: '', annotations: [] } });
    for (const delta of pieces(message.text)) emit('response.output_text.delta', { ...at, delta, logprobs: [] });
    emit('response.output_text.done', { ...at, text: message.text, logprobs: [] });
    emit('response.content_part.done', { ...at, part: { type: 'output_text', text: message.text, annotations: [] } });
    emit('response.output_item.done', { output_index: outputIndex, item: messageItem(messageId, message.text, 'completed') });
    outputIndex++;
  }
  for (const call of message.toolCalls) {
    const itemId = `fc_${call.id}`;
    emit('response.output_item.added', { output_index: outputIndex, item: functionCallItem(call, 'in_progress') });
    for (const delta of pieces(call.arguments)) {
      emit('response.function_call_arguments.delta', { item_id: itemId, output_index: outputIndex, delta });
    }
    emit('response.function_call_arguments.done', { item_id: itemId, output_index: outputIndex, name: call.name, arguments: call.arguments });
    emit('response.output_item.done', { output_index: outputIndex, item: functionCallItem(call, 'completed') });
    outputIndex++;
  }
  emit('response.completed', { response: responsesObject(body, message, usage, 'completed', responseId, messageId) });

  return events.map((event, i) => `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: i })}\n\n`).join('');
}

// ---- Chat Completions ----------------------------------------------------------------------------

function chatUsage(usage: Usage | null) {
  if (!usage) return null;
  return {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output,
    prompt_tokens_details: { cached_tokens: usage.cachedInput },
    completion_tokens_details: { reasoning_tokens: usage.reasoningOutput },
  };
}

function chatToolCalls(message: Message) {
  return message.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } }));
}

function chatObject(body: any, message: Message, usage: Usage | null) {
  const hasCalls = message.toolCalls.length > 0;
  return {
    id: `chatcmpl-${rid()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: hasCalls && message.text === '' ? null : message.text,
          refusal: null,
          ...(hasCalls ? { tool_calls: chatToolCalls(message) } : {}),
        },
        finish_reason: hasCalls ? 'tool_calls' : 'stop',
        logprobs: null,
      },
    ],
    ...(usage ? { usage: chatUsage(usage) } : {}),
  };
}

function chatChunks(body: any, message: Message, usage: Usage | null): string {
  const id = `chatcmpl-${rid()}`;
  const created = Math.floor(Date.now() / 1000);
  const includeUsage = body.stream_options?.include_usage === true;
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: body.model,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    ...(includeUsage ? { usage: null } : {}),
  });

  const chunks: unknown[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of pieces(message.text)) chunks.push(chunk({ content: piece }));
  message.toolCalls.forEach((call, index) => {
    chunks.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const piece of pieces(call.arguments)) chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
  });
  chunks.push(chunk({}, message.toolCalls.length > 0 ? 'tool_calls' : 'stop'));
  if (includeUsage && usage) {
    chunks.push({ id, object: 'chat.completion.chunk', created, model: body.model, choices: [], usage: chatUsage(usage) });
  }
  return chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n';
}
