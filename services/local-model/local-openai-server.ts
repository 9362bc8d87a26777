// The bundled local OpenAI-compatible server. The demo and the benchmarks run the pipeline against it,
// and the tests use it as the only stand-in for an LLM, so it speaks the wire protocol closely enough
// for the real `openai` SDK (JSON and SSE, Responses and Chat Completions) and can inject the faults
// real providers produce: HTTP errors, hangs and connections dropped mid-stream.
//
// It also implements the parts of the Files and Batch APIs that batch mode uses (upload, file
// content, create and retrieve a batch). A batch stays `in_progress` until the test (or the
// `autoCompleteBatches` option) settles it through the handle's `batches` control; completing it
// runs every line through the same handler, so the scripted model answers batch lines too.
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
  /** `endAfterMs`: the whole answer is written, and the body ended that much later (a provider
   * whose closing chunk comes in a packet of its own). */
  | { text: string; usage?: UsageSpec | null; endAfterMs?: number }
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
  /** TCP connections accepted so far: a client that keeps its connections alive opens one. */
  readonly connections: number;
  /** The Batch API side: inspect batches and files, and settle batches. */
  batches: BatchControl;
  close(): Promise<void>;
}

export interface LocalOpenAIServerOptions {
  handler: Handler;
  /** Fixed delay before every answer, to model a provider's response time in benchmarks. */
  latencyMs?: number;
  /** Complete every batch as soon as it is created (the demo; tests settle batches themselves). */
  autoCompleteBatches?: boolean;
  /**
   * Keep every request in `requests` (default true: tests read them). A server in a process of its
   * own, which nobody can ask, turns it off: it would otherwise grow by each request's body for as
   * long as it runs.
   */
  recordRequests?: boolean;
}

// ---- Batch API ---------------------------------------------------------------------------------

export type LocalBatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

export interface StoredFile {
  id: string;
  filename: string;
  purpose: string;
  content: string;
  createdAt: number;
}

/** The batch object as GET /v1/batches/:id returns it. */
export interface LocalBatch {
  id: string;
  object: 'batch';
  endpoint: string;
  input_file_id: string;
  completion_window: string;
  status: LocalBatchStatus;
  created_at: number;
  expires_at: number;
  output_file_id: string | null;
  error_file_id: string | null;
  errors: { object: 'list'; data: BatchErrorSpec[] } | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
  in_progress_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelled_at: number | null;
}

export interface BatchErrorSpec {
  code: string;
  message: string;
  line?: number | null;
  param?: string | null;
}

/** One request line of a batch's input file, as the control hands it to per-line overrides. */
export interface BatchLine {
  customId: string;
  body: any;
  /** 0-based position in the input file. */
  line: number;
}

/**
 * How one batch line is answered: any handler Reply (text and tool calls → an output-file line;
 * `status` → an error-file line with that HTTP status; `hangMs` → an error-file line, the request
 * never finished; `dropAfterBytes` → the output line cut off after that many bytes; `raw` → that
 * text verbatim as the output line), or a request-level error (`lineError`) in the error file.
 */
export type BatchLineReply = Reply | { lineError: { code: string; message: string } };

export interface SettleOptions {
  /** Overrides the handler for some lines: return undefined to let the handler answer. */
  reply?: (line: BatchLine) => BatchLineReply | undefined | Promise<BatchLineReply | undefined>;
}

export interface BatchControl {
  /** Every batch created, in creation order (copies). */
  list(): LocalBatch[];
  get(id: string): LocalBatch | undefined;
  /** Uploaded and generated files by id. */
  files: ReadonlyMap<string, StoredFile>;
  /** The most recent batch (convenience for tests that submit one). */
  latest(): LocalBatch | undefined;
  /** Answers every line (handler or `reply`) and marks the batch `completed`. */
  complete(id: string, options?: SettleOptions): Promise<LocalBatch>;
  /** Marks the batch `failed` (no results), with batch-level errors. */
  fail(id: string, errors?: BatchErrorSpec[]): LocalBatch;
  /** Marks the batch `expired`; the first `partial` lines (default 0) are answered first. */
  expire(id: string, options?: SettleOptions & { partial?: number }): Promise<LocalBatch>;
  /** Marks the batch `cancelled`; the first `partial` lines (default 0) are answered first. */
  cancel(id: string, options?: SettleOptions & { partial?: number }): Promise<LocalBatch>;
  /** Sets a status without producing results (e.g. `validating`, `finalizing`, `cancelling`). */
  setStatus(id: string, status: LocalBatchStatus): LocalBatch;
}

// Large replies are split into at most this many deltas, so a 10 MB text does not become 100k events.
const MAX_DELTAS = 16;
const MIN_DELTA_CHARS = 24;

export async function startLocalOpenAIServer(options: LocalOpenAIServerOptions): Promise<LocalOpenAIServer> {
  const requests: RecordedRequest[] = [];
  const record = (entry: RecordedRequest) => {
    if (options.recordRequests !== false) requests.push(entry);
  };
  const files = new Map<string, StoredFile>();
  const batchStore = new Map<string, LocalBatch>();
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;
  let nextIndex = 0;
  let connections = 0;

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
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket) => socket.destroy());

  async function handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0]!;
    const bytes = await readBody(req);
    if (isBatchApiPath(path)) {
      await handleBatchApi(req, res, path, bytes);
      return;
    }
    const raw = bytes.toString('utf8');
    let body: any;
    try {
      body = raw.length === 0 ? undefined : JSON.parse(raw);
    } catch {
      body = raw;
    }
    record({ path, body, headers: { ...req.headers } });

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
    await sendReply(res, wire, body, reply, raw.length);
  }

  async function sendReply(res: ServerResponse, wire: Wire, body: any, reply: Reply, requestChars: number): Promise<void> {
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
    const usage = resolveUsage(requestChars, reply);
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
    if ('endAfterMs' in reply && reply.endAfterMs !== undefined) {
      res.write(payload);
      await sleep(reply.endAfterMs);
      if (!closed && !clientGone(res)) res.end();
      return;
    }
    res.end(payload);
  }

  // ---- Files and Batches ------------------------------------------------------------------------

  async function handleBatchApi(req: IncomingMessage, res: ServerResponse, path: string, bytes: Buffer): Promise<void> {
    const method = req.method ?? 'GET';
    const recordBody = (body: unknown) => record({ path, body, headers: { ...req.headers } });

    if (method === 'POST' && path === '/v1/files') {
      const contentType = req.headers['content-type'] ?? '';
      let form: FormData;
      try {
        form = await new Response(new Uint8Array(bytes), { headers: { 'content-type': contentType } }).formData();
      } catch {
        recordBody(undefined);
        return sendError(res, 400, 'file upload must be multipart/form-data', 'invalid_request_error');
      }
      const purpose = form.get('purpose');
      const file = form.get('file');
      if (typeof purpose !== 'string' || typeof file === 'string' || file === null) {
        recordBody({ purpose });
        return sendError(res, 400, "missing required parameters: 'file' and 'purpose'", 'invalid_request_error');
      }
      const content = await file.text();
      const stored = storeFile(file.name || 'upload', purpose, content);
      recordBody({ purpose, filename: stored.filename, bytes: Buffer.byteLength(content), fileId: stored.id });
      return sendJson(res, 200, fileObject(stored));
    }

    const fileMatch = /^\/v1\/files\/([^/]+)(\/content)?$/.exec(path);
    if (method === 'GET' && fileMatch) {
      recordBody(undefined);
      const stored = files.get(decodeURIComponent(fileMatch[1]!));
      if (!stored) return sendError(res, 404, `No such File object: ${fileMatch[1]}`, 'invalid_request_error');
      if (!fileMatch[2]) return sendJson(res, 200, fileObject(stored));
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(Buffer.byteLength(stored.content)) });
      res.end(stored.content);
      return;
    }

    if (method === 'POST' && path === '/v1/batches') {
      let body: any;
      try {
        body = JSON.parse(bytes.toString('utf8'));
      } catch {
        body = undefined;
      }
      recordBody(body);
      if (typeof body !== 'object' || body === null) return sendError(res, 400, 'request body must be a JSON object', 'invalid_request_error');
      if (body.endpoint !== '/v1/responses' && body.endpoint !== '/v1/chat/completions') {
        return sendError(res, 400, `unsupported endpoint: ${String(body.endpoint)}`, 'invalid_request_error');
      }
      if (body.completion_window !== '24h') return sendError(res, 400, "completion_window must be '24h'", 'invalid_request_error');
      const input = typeof body.input_file_id === 'string' ? files.get(body.input_file_id) : undefined;
      if (!input) return sendError(res, 400, `No such File object: ${String(body.input_file_id)}`, 'invalid_request_error');
      if (input.purpose !== 'batch') return sendError(res, 400, "the input file must be uploaded with purpose 'batch'", 'invalid_request_error');
      const batch = createBatch(body, input);
      if (options.autoCompleteBatches && batch.status === 'in_progress') await control.complete(batch.id);
      return sendJson(res, 200, batchStore.get(batch.id));
    }

    const batchMatch = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
    if (batchMatch && ((method === 'GET' && !batchMatch[2]) || (method === 'POST' && batchMatch[2]))) {
      recordBody(undefined);
      const batch = batchStore.get(decodeURIComponent(batchMatch[1]!));
      if (!batch) return sendError(res, 404, `No batch found with id '${batchMatch[1]}'`, 'invalid_request_error');
      if (batchMatch[2] && (batch.status === 'validating' || batch.status === 'in_progress' || batch.status === 'finalizing')) {
        batch.status = 'cancelling';
      }
      return sendJson(res, 200, batch);
    }

    recordBody(undefined);
    sendError(res, 404, `no route for ${method} ${path}`, 'invalid_request_error');
  }

  function storeFile(filename: string, purpose: string, content: string): StoredFile {
    const stored = { id: `file-${rid()}${rid()}`, filename, purpose, content, createdAt: Math.floor(Date.now() / 1000) };
    files.set(stored.id, stored);
    return stored;
  }

  /** Validates the input file the way the Batch API does before running anything. */
  function createBatch(body: any, input: StoredFile): LocalBatch {
    const now = Math.floor(Date.now() / 1000);
    const lines = input.content.split('\n').filter((line) => line.trim() !== '');
    const errors: BatchErrorSpec[] = [];
    const seen = new Set<string>();
    lines.forEach((text, i) => {
      const problem = inputLineProblem(text, body.endpoint, seen);
      if (problem) errors.push({ code: 'invalid_request', message: problem, line: i + 1, param: null });
    });
    if (lines.length === 0) errors.push({ code: 'empty_file', message: 'the input file has no requests', line: null, param: null });
    const failed = errors.length > 0;
    const batch: LocalBatch = {
      id: `batch_${rid()}${rid()}`,
      object: 'batch',
      endpoint: body.endpoint,
      input_file_id: input.id,
      completion_window: '24h',
      status: failed ? 'failed' : 'in_progress',
      created_at: now,
      expires_at: now + 86_400,
      output_file_id: null,
      error_file_id: null,
      errors: failed ? { object: 'list', data: errors } : null,
      request_counts: { total: failed ? 0 : lines.length, completed: 0, failed: 0 },
      metadata: body.metadata ?? null,
      in_progress_at: failed ? null : now,
      completed_at: null,
      failed_at: failed ? now : null,
      expired_at: null,
      cancelled_at: null,
    };
    batchStore.set(batch.id, batch);
    return batch;
  }

  function batchOrThrow(id: string): LocalBatch {
    const batch = batchStore.get(id);
    if (!batch) throw new Error(`no batch ${id}`);
    return batch;
  }

  /** Answers the first `limit` lines of the batch's input and writes the output and error files. */
  async function runLines(batch: LocalBatch, limit: number, settle: SettleOptions | undefined): Promise<void> {
    const input = files.get(batch.input_file_id)!;
    const lines = input.content.split('\n').filter((line) => line.trim() !== '');
    const wire: Wire = batch.endpoint === '/v1/chat/completions' ? 'chat' : 'responses';
    const output: string[] = [];
    const failures: string[] = [];
    for (const [i, text] of lines.slice(0, limit).entries()) {
      const request = JSON.parse(text);
      const line: BatchLine = { customId: request.custom_id, body: request.body, line: i };
      const reply = (await settle?.reply?.(line)) ?? (await options.handler({ wire, body: request.body, index: nextIndex++ }));
      const result = batchResultLine(wire, line, reply);
      (result.ok ? output : failures).push(result.text);
    }
    batch.request_counts = { total: lines.length, completed: output.length, failed: failures.length };
    if (output.length > 0) batch.output_file_id = storeFile(`${batch.id}_output.jsonl`, 'batch_output', output.map((l) => `${l}\n`).join('')).id;
    if (failures.length > 0) batch.error_file_id = storeFile(`${batch.id}_error.jsonl`, 'batch_output', failures.map((l) => `${l}\n`).join('')).id;
  }

  const control: BatchControl = {
    list: () => [...batchStore.values()].map((b) => structuredClone(b)),
    get: (id) => {
      const batch = batchStore.get(id);
      return batch ? structuredClone(batch) : undefined;
    },
    files,
    latest: () => {
      const all = [...batchStore.values()];
      return all.length > 0 ? structuredClone(all[all.length - 1]!) : undefined;
    },
    async complete(id, settle) {
      const batch = batchOrThrow(id);
      await runLines(batch, Number.POSITIVE_INFINITY, settle);
      Object.assign(batch, { status: 'completed', completed_at: Math.floor(Date.now() / 1000) });
      return structuredClone(batch);
    },
    fail(id, errors = [{ code: 'batch_failed', message: 'the batch failed' }]) {
      const batch = batchOrThrow(id);
      Object.assign(batch, { status: 'failed', failed_at: Math.floor(Date.now() / 1000), errors: { object: 'list', data: errors } });
      return structuredClone(batch);
    },
    async expire(id, settle) {
      const batch = batchOrThrow(id);
      await runLines(batch, settle?.partial ?? 0, settle);
      Object.assign(batch, { status: 'expired', expired_at: Math.floor(Date.now() / 1000) });
      return structuredClone(batch);
    },
    async cancel(id, settle) {
      const batch = batchOrThrow(id);
      await runLines(batch, settle?.partial ?? 0, settle);
      Object.assign(batch, { status: 'cancelled', cancelled_at: Math.floor(Date.now() / 1000) });
      return structuredClone(batch);
    },
    setStatus(id, status) {
      const batch = batchOrThrow(id);
      batch.status = status;
      return structuredClone(batch);
    },
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    get connections() {
      return connections;
    },
    batches: control,
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

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const text = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

// ---- Batch API helpers ---------------------------------------------------------------------------

function isBatchApiPath(path: string): boolean {
  return path === '/v1/files' || path.startsWith('/v1/files/') || path === '/v1/batches' || path.startsWith('/v1/batches/');
}

function fileObject(file: StoredFile) {
  return {
    id: file.id,
    object: 'file',
    bytes: Buffer.byteLength(file.content),
    created_at: file.createdAt,
    filename: file.filename,
    purpose: file.purpose,
    status: 'processed',
  };
}

function inputLineProblem(text: string, endpoint: string, seen: Set<string>): string | null {
  let line: any;
  try {
    line = JSON.parse(text);
  } catch {
    return 'line is not valid JSON';
  }
  if (typeof line?.custom_id !== 'string' || line.custom_id === '') return "missing 'custom_id'";
  if (seen.has(line.custom_id)) return `duplicate custom_id '${line.custom_id}'`;
  seen.add(line.custom_id);
  if (line.method !== 'POST') return "'method' must be POST";
  if (line.url !== endpoint) return `'url' ${String(line.url)} does not match the batch endpoint ${endpoint}`;
  if (line.body?.stream === true) return 'streaming is not supported in batches';
  return validate(endpoint === '/v1/chat/completions' ? 'chat' : 'responses', line.body);
}

/** One output-file (ok) or error-file line for a batch request answered with `reply`. */
function batchResultLine(wire: Wire, line: BatchLine, reply: BatchLineReply): { ok: boolean; text: string } {
  const id = `batch_req_${rid()}`;
  const requestId = `req_${rid()}`;
  const entry = (response: unknown, error: unknown) => JSON.stringify({ id, custom_id: line.customId, response, error });
  if ('lineError' in reply) return { ok: false, text: entry(null, reply.lineError) };
  if ('raw' in reply) return { ok: true, text: reply.raw };
  if ('hangMs' in reply) {
    return { ok: false, text: entry(null, { code: 'request_timeout', message: `no answer within ${reply.hangMs} ms` }) };
  }
  if ('status' in reply) {
    const body =
      reply.body === undefined
        ? errorBody(`${reply.status} ${STATUS_CODES[reply.status] ?? 'error'}`, reply.status >= 500 ? 'server_error' : 'invalid_request_error')
        : reply.body;
    return { ok: reply.status >= 200 && reply.status < 300, text: entry({ status_code: reply.status, request_id: requestId, body }, null) };
  }
  const usage = resolveUsage(JSON.stringify(line.body).length, reply);
  const message: Message = {
    text: 'toolCalls' in reply ? (reply.text ?? '') : reply.text,
    toolCalls: 'toolCalls' in reply ? reply.toolCalls.map((call, i) => ({ ...call, id: call.id ?? `call_${rid()}_${i}` })) : [],
  };
  const body = wire === 'responses' ? responsesObject(line.body, message, usage, 'completed') : chatObject(line.body, message, usage);
  const text = entry({ status_code: 200, request_id: requestId, body }, null);
  if ('dropAfterBytes' in reply) return { ok: true, text: Buffer.from(text).subarray(0, reply.dropAfterBytes).toString('utf8') };
  return { ok: true, text };
}

function errorBody(message: string, type: string) {
  return { error: { message, type, param: null, code: null } };
}

function sendError(res: ServerResponse, status: number, message: string, type: string): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(errorBody(message, type)));
}

/** `requestChars`: the length of the request body's JSON text. */
function resolveUsage(requestChars: number, reply: { usage?: UsageSpec | null; text?: string; toolCalls?: ToolCallSpec[] }): Usage | null {
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
    input: Math.ceil(requestChars / 4),
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
