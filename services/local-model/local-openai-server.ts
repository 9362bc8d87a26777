// The local OpenAI-compatible server: the demo, benchmarks and tests' only LLM, so it speaks the wire closely enough for the
// real `openai` SDK and injects real providers' faults (HTTP errors, hangs, drops mid-stream). The HTTP core; wires render.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { BATCH_API_PATH, LocalBatches, type Ask } from './batch-wire.ts';
import { chatChunks, chatObject } from './chat-wire.ts';
import { responsesEvents, responsesObject } from './responses-wire.ts';
import { answerOf, errorBody, parseBody, sendError, validate, wireOf, type Answer } from './wire-common.ts';

export type Wire = 'responses' | 'chat';

/** Token counts to report; `null` on a reply means "send no usage at all". */
export type UsageSpec = { input: number; output: number; cachedInput?: number; reasoningOutput?: number };

export type ToolCallSpec = { id?: string; name: string; arguments: string };

/** A reasoning output item (Responses wire only); its encrypted content is sent only to a request that includes it. */
export type ReasoningSpec = { summary?: string; encryptedContent: string };

export type Reply =
  /** `endAfterMs`: the body ends that much after the answer (a closing chunk in a packet of its own). */
  | { text: string; usage?: UsageSpec | null; endAfterMs?: number; reasoning?: ReasoningSpec }
  | { toolCalls: ToolCallSpec[]; text?: string; usage?: UsageSpec | null; reasoning?: ReasoningSpec }
  | { status: number; headers?: Record<string, string>; body?: unknown }
  | { hangMs: number }
  /** Starts the answer, then destroys the socket; `stallMs` keeps it silently open first. */
  | { dropAfterBytes: number; text: string; stallMs?: number }
  | { raw: string };

/** `index`: 0-based position of this request among all model requests the server received. */
export type HandlerRequest = { wire: Wire; body: any; index: number };

export type Handler = (req: HandlerRequest) => Reply | Promise<Reply>;

export type RecordedRequest = { path: string; body: any; headers: IncomingHttpHeaders };

export interface LocalOpenAIServerOptions {
  handler: Handler;
  /** Fixed delay before every answer, to model a provider's response time in benchmarks. */
  latencyMs?: number;
  /** Complete every batch as soon as it is created (tests that do not settle batches themselves). */
  autoCompleteBatches?: boolean;
  /** Keep every request in `requests` (default true). A long-running server process turns it off. */
  recordRequests?: boolean;
}

export const startLocalOpenAIServer = (options: LocalOpenAIServerOptions) => LocalOpenAIServer.start(options);

/** One running server: its sockets, its pending timers and what it has recorded. */
export class LocalOpenAIServer {
  /** Base URL to give the SDK, ending in /v1. */
  url = '';
  readonly requests: RecordedRequest[] = [];
  /** TCP connections accepted so far: a client that keeps its connections alive opens one. */
  connections = 0;
  /** The Batch API side: inspect batches and files, and settle batches. */
  readonly batches: LocalBatches;
  readonly #options: LocalOpenAIServerOptions;
  readonly #sockets = new Set<Socket>();
  // Tracked so close() can cancel hangs and latency waits instead of waiting them out.
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;
  #nextIndex = 0;
  readonly #http = createServer((req, res) => {
    // Whatever went wrong, the server keeps serving other requests.
    this.#serve(req, res).catch((error: unknown) => {
      if (res.headersSent || res.destroyed) return void res.destroy();
      sendError(res, 500, `local server failure: ${error instanceof Error ? error.message : String(error)}`);
    });
  });

  static async start(options: LocalOpenAIServerOptions): Promise<LocalOpenAIServer> {
    const server = new LocalOpenAIServer(options);
    await new Promise<void>((resolve, reject) => {
      server.#http.once('error', reject);
      server.#http.listen(0, '127.0.0.1', () => resolve());
    });
    server.url = `http://127.0.0.1:${(server.#http.address() as AddressInfo).port}/v1`;
    return server;
  }

  private constructor(options: LocalOpenAIServerOptions) {
    this.#options = options;
    this.batches = new LocalBatches(this.#ask, options.autoCompleteBatches === true);
    this.#http.on('connection', (socket) => {
      this.connections++;
      this.#sockets.add(socket);
      socket.on('close', () => this.#sockets.delete(socket));
    });
    this.#http.on('clientError', (_error, socket) => socket.destroy());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    const done = new Promise<void>((resolve) => this.#http.close(() => resolve()));
    // Keep-alive sockets would otherwise hold the process (and the test runner) open.
    for (const socket of this.#sockets) socket.destroy();
    await done;
  }

  #ask: Ask = async (wire, body) => this.#options.handler({ wire, body, index: this.#nextIndex++ });

  /** Resolves after `ms`, or never once the server closed. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  /** False once the server closed or the client went away. */
  #writable = (res: ServerResponse) => !this.#closed && !res.destroyed && res.socket !== null && !res.socket.destroyed;

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const bytes = await buffer(req);
    const record = (body: unknown) => {
      if (this.#options.recordRequests !== false) this.requests.push({ path, body, headers: { ...req.headers } });
    };
    if (BATCH_API_PATH.test(path)) return this.batches.serve(req, res, path, bytes, record);
    const raw = bytes.toString('utf8');
    const body: any = parseBody(raw);
    record(body);
    const wire = req.method === 'POST' ? wireOf(path) : undefined;
    if (!wire) return sendError(res, 404, `no route for ${req.method} ${path}`);
    const problem = validate(wire, body);
    if (problem) return sendError(res, 400, problem);

    const reply = await this.#ask(wire, body);
    if (this.#options.latencyMs) await this.#sleep(this.#options.latencyMs);
    if (this.#writable(res)) await this.#reply(res, wire, body, reply, raw.length);
  }

  async #reply(res: ServerResponse, wire: Wire, body: any, reply: Reply, requestChars: number): Promise<void> {
    if ('hangMs' in reply) {
      await this.#sleep(reply.hangMs);
      return this.#writable(res) ? sendError(res, 504, `no answer within ${reply.hangMs} ms`) : undefined;
    }
    if ('status' in reply) {
      const payload = reply.body ?? errorBody(reply.status);
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      return void res.end(typeof payload === 'string' ? payload : JSON.stringify(payload));
    }
    if ('raw' in reply) {
      res.writeHead(200, { 'content-type': body.stream ? 'text/event-stream' : 'application/json' });
      return void res.end(reply.raw);
    }
    const payload = render(wire, body, answerOf(reply, requestChars));
    const json = { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
    res.writeHead(200, body.stream === true ? { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } : json);
    if ('dropAfterBytes' in reply) {
      res.write(Buffer.from(payload).subarray(0, reply.dropAfterBytes));
      // Give the bytes a moment to reach the client so it sees a started-then-broken answer.
      await this.#sleep(reply.stallMs ?? 20);
      return void res.destroy();
    }
    if (!('endAfterMs' in reply) || reply.endAfterMs === undefined) return void res.end(payload);
    res.write(payload);
    await this.#sleep(reply.endAfterMs);
    if (this.#writable(res)) res.end();
  }
}

/** The answer as the wire sends it: one JSON object, or the SSE stream a `stream: true` request asks for. */
function render(wire: Wire, body: any, answer: Answer): string {
  if (body.stream === true) return (wire === 'responses' ? responsesEvents : chatChunks)(body, answer);
  return JSON.stringify((wire === 'responses' ? responsesObject : chatObject)(body, answer));
}
