// The Files and Batch APIs as batch mode uses them. A batch stays `in_progress` until the test (or
// `autoCompleteBatches`) settles it; settling runs each line through the model handler, as the scripted model.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Batch, BatchError } from 'openai/resources/batches';
import { chatObject } from './chat-wire.ts';
import type { Reply, Wire } from './local-openai-server.ts';
import { responsesObject } from './responses-wire.ts';
import { answerOf, errorBody, parseBody, rid, sendError, sendJson, validate, wireOf } from './wire-common.ts';

/** The batch object as GET /v1/batches/:id returns it; this server always counts its requests. */
export type LocalBatch = Batch & Required<Pick<Batch, 'request_counts'>>;

export type StoredFile = { id: string; filename: string; purpose: string; content: string; createdAt: number };

/** One request line of a batch's input file; `line` is its 0-based position. */
export type BatchLine = { customId: string; body: any; line: number };

/** A handler Reply (a hang or a drop → an error line), or a request-level error (`lineError`) in the error file. */
export type BatchLineReply = Reply | { lineError: { code: string; message: string } };

/** `reply` overrides the handler per line (undefined: the handler answers); `partial`: lines `expire`/`cancel` answer first. */
export type SettleOptions = {
  reply?: (line: BatchLine) => BatchLineReply | undefined | Promise<BatchLineReply | undefined>;
  partial?: number;
};

export type Ask = (wire: Wire, body: any) => Promise<Reply>;
type Recorder = (body: unknown) => void;

export const BATCH_API_PATH = /^\/v1\/(files|batches)(\/|$)/;

export class LocalBatches {
  readonly files = new Map<string, StoredFile>();
  readonly #batches = new Map<string, LocalBatch>();

  constructor(
    private readonly ask: Ask,
    private readonly autoComplete: boolean,
  ) {}

  /** Every batch created, in creation order (copies). */
  list = () => [...this.#batches.values()].map((batch) => structuredClone(batch));
  latest = () => this.list().at(-1);
  /** Answers every line and marks the batch `completed`; `expire` and `cancel` answer `partial` lines first. */
  complete = (id: string, options?: SettleOptions) => this.#settle(id, 'completed', Number.POSITIVE_INFINITY, options);
  expire = (id: string, options?: SettleOptions) => this.#settle(id, 'expired', options?.partial ?? 0, options);
  cancel = (id: string, options?: SettleOptions) => this.#settle(id, 'cancelled', options?.partial ?? 0, options);
  /** Sets a status without producing results (e.g. `validating`, `finalizing`, `cancelling`). */
  setStatus = (id: string, status: Batch['status']) => this.#update(id, { status });
  /** Marks the batch `failed`, with batch-level errors and no results. */
  fail = (id: string, errors: BatchError[] = [{ code: 'batch_failed', message: 'the batch failed' }]) =>
    this.#update(id, { status: 'failed', errors: { object: 'list', data: errors } });

  /** Answers a request under /v1/files or /v1/batches; `record` keeps what the request carried. */
  async serve(req: IncomingMessage, res: ServerResponse, path: string, bytes: Buffer, record: Recorder): Promise<void> {
    const method = req.method ?? 'GET';
    if (method === 'POST' && path === '/v1/files') return this.#upload(res, bytes, req.headers['content-type'] ?? '', record);
    if (method === 'POST' && path === '/v1/batches') return this.#create(res, parseBody(bytes.toString('utf8')), record);
    record(undefined);
    const file = method === 'GET' ? /^\/v1\/files\/([^/]+)\/content$/.exec(path) : null;
    if (file) {
      const stored = this.files.get(decodeURIComponent(file[1]!));
      if (!stored) return sendError(res, 404, `No such File object: ${file[1]}`);
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return void res.end(stored.content);
    }
    const batch = method === 'GET' ? /^\/v1\/batches\/([^/]+)$/.exec(path) : null;
    if (!batch) return sendError(res, 404, `no route for ${method} ${path}`);
    const found = this.#batches.get(decodeURIComponent(batch[1]!));
    if (!found) return sendError(res, 404, `No batch found with id '${batch[1]}'`);
    sendJson(res, 200, found);
  }

  async #upload(res: ServerResponse, bytes: Buffer, contentType: string, record: Recorder): Promise<void> {
    const request = new Response(new Uint8Array(bytes), { headers: { 'content-type': contentType } });
    const form = await request.formData().catch(() => undefined);
    if (!form) {
      record(undefined);
      return sendError(res, 400, 'file upload must be multipart/form-data');
    }
    const [purpose, file] = [form.get('purpose'), form.get('file')];
    if (typeof purpose !== 'string' || typeof file === 'string' || file === null) {
      record({ purpose });
      return sendError(res, 400, "missing required parameters: 'file' and 'purpose'");
    }
    const content = await file.text();
    const { id, filename, createdAt } = this.#store(file.name || 'upload', purpose, content);
    const size = Buffer.byteLength(content);
    record({ purpose, filename, bytes: size, fileId: id });
    sendJson(res, 200, { id, object: 'file', bytes: size, created_at: createdAt, filename, purpose, status: 'processed' });
  }

  /** Validates the request and its input file the way the Batch API does before running anything. */
  async #create(res: ServerResponse, body: any, record: Recorder): Promise<void> {
    record(body);
    const input = typeof body?.input_file_id === 'string' ? this.files.get(body.input_file_id) : undefined;
    const problem = batchRequestProblem(body, input);
    if (problem) return sendError(res, 400, problem);
    const lines = linesOf(input!);
    const seen = new Set<string>();
    const errors = lines.flatMap((text, i): BatchError[] => {
      const message = inputLineProblem(text, body.endpoint, seen);
      return message ? [{ code: 'invalid_request', message, line: i + 1, param: null }] : [];
    });
    if (lines.length === 0) errors.push({ code: 'empty_file', message: 'the input file has no requests', line: null });
    const now = Math.floor(Date.now() / 1000);
    const batch: LocalBatch = {
      id: `batch_${rid()}${rid()}`,
      object: 'batch',
      endpoint: body.endpoint,
      input_file_id: body.input_file_id,
      completion_window: '24h',
      status: errors.length > 0 ? 'failed' : 'in_progress',
      created_at: now,
      expires_at: now + 86_400,
      ...(errors.length > 0 ? { errors: { object: 'list', data: errors } } : {}),
      request_counts: { total: errors.length > 0 ? 0 : lines.length, completed: 0, failed: 0 },
      metadata: body.metadata ?? null,
    };
    this.#batches.set(batch.id, batch);
    if (this.autoComplete && batch.status === 'in_progress') await this.complete(batch.id);
    sendJson(res, 200, batch);
  }

  /** Answers the first `limit` lines, writes the output and error files, then sets the status. */
  async #settle(id: string, status: Batch['status'], limit: number, options?: SettleOptions): Promise<LocalBatch> {
    const batch = this.#batch(id);
    const lines = linesOf(this.files.get(batch.input_file_id)!);
    const wire = wireOf(batch.endpoint)!;
    const output: string[] = [];
    const failures: string[] = [];
    for (const [i, text] of lines.slice(0, limit).entries()) {
      const request = JSON.parse(text);
      const line: BatchLine = { customId: request.custom_id, body: request.body, line: i };
      const reply = (await options?.reply?.(line)) ?? (await this.ask(wire, request.body));
      const result = batchResultLine(wire, line, reply);
      (result.ok ? output : failures).push(`${result.text}\n`);
    }
    batch.request_counts = { total: lines.length, completed: output.length, failed: failures.length };
    if (output.length > 0) batch.output_file_id = this.#store(`${id}_output.jsonl`, 'batch_output', output.join('')).id;
    if (failures.length > 0) batch.error_file_id = this.#store(`${id}_error.jsonl`, 'batch_output', failures.join('')).id;
    return this.#update(id, { status });
  }

  #store(filename: string, purpose: string, content: string): StoredFile {
    const stored = { id: `file-${rid()}${rid()}`, filename, purpose, content, createdAt: Math.floor(Date.now() / 1000) };
    this.files.set(stored.id, stored);
    return stored;
  }

  #batch(id: string): LocalBatch {
    const batch = this.#batches.get(id);
    if (!batch) throw new Error(`no batch ${id}`);
    return batch;
  }

  #update = (id: string, fields: Partial<LocalBatch>) => structuredClone(Object.assign(this.#batch(id), fields));
}

const linesOf = (file: StoredFile) => file.content.split('\n').filter((line) => line.trim() !== '');

function batchRequestProblem(body: any, input: StoredFile | undefined): string | null {
  if (typeof body !== 'object' || body === null) return 'request body must be a JSON object';
  if (!wireOf(body.endpoint)) return `unsupported endpoint: ${String(body.endpoint)}`;
  if (body.completion_window !== '24h') return "completion_window must be '24h'";
  if (!input) return `No such File object: ${String(body.input_file_id)}`;
  if (input.purpose !== 'batch') return "the input file must be uploaded with purpose 'batch'";
  return null;
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
  return validate(wireOf(endpoint)!, line.body);
}

/** One output-file (ok) or error-file line for a batch request answered with `reply`. */
function batchResultLine(wire: Wire, line: BatchLine, reply: BatchLineReply): { ok: boolean; text: string } {
  const entry = (response: unknown, error: unknown) =>
    JSON.stringify({ id: `batch_req_${rid()}`, custom_id: line.customId, response, error });
  const response = (status: number, body: unknown) => entry({ status_code: status, request_id: `req_${rid()}`, body }, null);
  if ('lineError' in reply) return { ok: false, text: entry(null, reply.lineError) };
  if ('raw' in reply) return { ok: true, text: reply.raw };
  if ('status' in reply) {
    return { ok: reply.status >= 200 && reply.status < 300, text: response(reply.status, reply.body ?? errorBody(reply.status)) };
  }
  if ('hangMs' in reply || 'dropAfterBytes' in reply) {
    return { ok: false, text: entry(null, { code: 'request_failed', message: 'the request did not finish' }) };
  }
  const answer = answerOf(reply, JSON.stringify(line.body).length);
  const body = wire === 'responses' ? responsesObject(line.body, answer) : chatObject(line.body, answer);
  return { ok: true, text: response(200, body) };
}
