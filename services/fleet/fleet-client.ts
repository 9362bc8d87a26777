// The fleet API as the push and pull commands call it. A 4xx is final (its one-line reason is the error); a
// network error or a 503 is tried again a few times, which is safe because every call is idempotent.
import { fetchFailureReason } from '../errors.ts';
import type { IngestResult, RolloutManifest } from './ingest.ts';
import type { ConsolidationStatus, RolloutStatus } from './fleet-status.ts';

export class FleetApiError extends Error {
  constructor(
    readonly status: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'FleetApiError';
  }
}

export interface MemoryResponse {
  namespace: string;
  layout: 'v1' | 'v2';
  revision: number;
  digest: string | null;
  createdAt: number | null;
  unchanged?: boolean;
  files: Array<{ path: string; content: string }>;
}

/**
 * Tries per call once the server has answered: the pauses add up to about half a minute, enough for a service to
 * restart mid-push. A server never reached (a wrong URL) fails after a few.
 */
const ATTEMPTS = 40;
const FIRST_ATTEMPTS = 4;
const pauseMs = (attempt: number) => Math.min(1_000, 100 * 2 ** attempt);
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class FleetClient {
  readonly #base: string;
  /** The server as given, for messages. */
  readonly #server: string;
  readonly #token: string;
  #reached = false;

  constructor(server: string, token: string, namespace: string) {
    if (!/^https?:\/\//.test(server)) throw new FleetApiError(null, `--server must be an http:// or https:// URL, not ${server}`);
    this.#server = server.replace(/\/+$/, '');
    this.#base = `${this.#server}/v1/namespaces/${encodeURIComponent(namespace)}`;
    this.#token = token;
  }

  async #call(method: string, path: string, init: { body?: BodyInit; headers?: Record<string, string> } = {}): Promise<Response> {
    const headers = { authorization: `Bearer ${this.#token}`, ...init.headers };
    for (let attempt = 1; ; attempt++) {
      let response: Response;
      try {
        response = await fetch(`${this.#base}${path}`, { method, headers, body: init.body });
      } catch (error) {
        if (attempt >= (this.#reached ? ATTEMPTS : FIRST_ATTEMPTS))
          throw new FleetApiError(null, `cannot reach the server at ${this.#server}: ${fetchFailureReason(error)}`);
        await pause(pauseMs(attempt));
        continue;
      }
      this.#reached = true;
      if (response.status === 503 && attempt < ATTEMPTS) {
        await response.body?.cancel();
        await pause(pauseMs(attempt));
        continue;
      }
      if (response.status >= 400 && !(method === 'HEAD' && response.status === 404)) {
        throw await this.#refusal(response);
      }
      return response;
    }
  }

  /**
   * A memories server answers every refusal with `{"error": "reason"}` and the reason in X-Memories-Error. Anything
   * else (an OpenAI-style `{"error": {"message": …}}` from a model server, a proxy's HTML page) means --server names
   * another service: said as such, with the reason it gave.
   */
  async #refusal(response: Response): Promise<FleetApiError> {
    const text = await response.text();
    const header = response.headers.get('x-memories-error');
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: the text is the reason
    }
    const error = (body as { error?: unknown } | undefined)?.error;
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    if (header !== null || typeof error === 'string') {
      return new FleetApiError(
        response.status,
        `${response.status}: ${(typeof error === 'string' ? error : header) || response.statusText}`,
      );
    }
    const message = (error as { message?: unknown } | undefined)?.message;
    const reason = typeof message === 'string' ? message : text.replace(/<[^>]*>/g, ' ');
    const said = reason.replace(/\s+/g, ' ').trim().slice(0, 200);
    return new FleetApiError(
      response.status,
      `${this.#server} is not a memories server (${status}${said ? `: ${said}` : ''}); check --server`,
    );
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.#call('HEAD', `/rollouts/${sha256}`)).status === 200;
  }

  async upload(manifest: RolloutManifest, content: Buffer): Promise<IngestResult> {
    const response = await this.#call('PUT', `/rollouts/${manifest.sha256}`, {
      body: new Uint8Array(content),
      headers: { 'content-type': 'application/octet-stream', 'x-memories-manifest': JSON.stringify(manifest) },
    });
    return (await response.json()) as IngestResult;
  }

  async rolloutStatus(hashes: string[]): Promise<{ rollouts: RolloutStatus[]; consolidation: ConsolidationStatus }> {
    const response = await this.#call('POST', '/rollouts/status', {
      body: JSON.stringify({ sha256: hashes }),
      headers: { 'content-type': 'application/json' },
    });
    return (await response.json()) as { rollouts: RolloutStatus[]; consolidation: ConsolidationStatus };
  }

  async memory(knownDigest?: string): Promise<MemoryResponse> {
    const query = knownDigest ? `?known=${knownDigest}` : '';
    return (await (await this.#call('GET', `/memory${query}`)).json()) as MemoryResponse;
  }
}
