// The fetch our openai SDK clients use: node:http(s) with keep-alive agents. Node's global fetch
// (undici) spends ~0.5 ms more CPU per request on its Request and Headers objects, body checks
// and fetch algorithm: a tenth of phase 1's time when the model answers at once and the pipeline
// shares two cores with it. This handles what model calls send (a string or byte body); anything
// else, such as the Batch API's multipart uploads, goes to the global fetch.
import http from 'node:http';
import https from 'node:https';
import { pipeline, Readable } from 'node:stream';
import zlib from 'node:zlib';

const agents: Record<string, http.Agent> = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const MAX_REDIRECTS = 20; // as fetch
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

type Body = string | Uint8Array | undefined;

export const nodeHttpFetch: typeof fetch = async (input, init = {}) => {
  const raw = init.body ?? undefined;
  const simple = raw === undefined || typeof raw === 'string' || raw instanceof Uint8Array || raw instanceof ArrayBuffer;
  if (input instanceof Request || !simple) return fetch(input, init);

  let url = new URL(input);
  let method = (init.method ?? 'GET').toUpperCase();
  let body: Body = raw instanceof ArrayBuffer ? new Uint8Array(raw) : raw;
  const headers = headerRecord(init.headers);
  const signal = init.signal ?? undefined;
  for (let redirects = 0; ; redirects++) {
    const res = await send(url, method, headers, body, signal);
    const location = res.headers.location;
    if (!REDIRECTS.has(res.statusCode!) || location === undefined || init.redirect === 'manual') return toResponse(res, url);
    res.resume();
    if (init.redirect === 'error' || redirects >= MAX_REDIRECTS) throw new TypeError('fetch failed', { cause: new Error(`redirect to ${location} refused`) });
    const next = new URL(location, url);
    if (res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = undefined;
      delete headers['content-type'];
      delete headers['content-length'];
    }
    if (next.origin !== url.origin) delete headers.authorization; // as fetch: credentials stay with their origin
    url = next;
  }
};

function headerRecord(init: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (init === undefined) return out;
  if (init instanceof Headers) init.forEach((value, key) => (out[key] = value));
  else for (const [key, value] of Array.isArray(init) ? init : Object.entries(init)) out[key.toLowerCase()] = value;
  return out;
}

function abortError(): DOMException {
  return new DOMException('This operation was aborted', 'AbortError');
}

/** Sends one request; resolves with the response once its headers are in. */
function send(url: URL, method: string, headers: Record<string, string>, body: Body, signal: AbortSignal | undefined): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortError());
    const agent = agents[url.protocol];
    if (agent === undefined) return reject(new TypeError('fetch failed', { cause: new Error(`unsupported protocol ${url.protocol}`) }));
    let response: http.IncomingMessage | undefined;
    const onAbort = () => {
      const error = abortError();
      request.destroy(error);
      response?.destroy(error); // errors the body stream the caller reads
    };
    const done = () => signal?.removeEventListener('abort', onAbort);
    const request = (url.protocol === 'https:' ? https : http).request(url, { method, headers, agent }, (res) => {
      response = res;
      res.once('close', done);
      resolve(res);
    });
    request.once('error', (error) => {
      done();
      reject(signal?.aborted ? abortError() : new TypeError('fetch failed', { cause: error }));
    });
    signal?.addEventListener('abort', onAbort, { once: true });
    request.end(body);
  });
}

function toResponse(res: http.IncomingMessage, url: URL): Response {
  const headers = new Headers();
  for (let i = 0; i < res.rawHeaders.length; i += 2) headers.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
  const status = res.statusCode!;
  let body: ReadableStream | null = null;
  if (NULL_BODY.has(status)) res.resume();
  else body = Readable.toWeb(decoded(res)) as ReadableStream;
  const response = new Response(body, { status, statusText: res.statusMessage, headers });
  Object.defineProperty(response, 'url', { value: url.href });
  return response;
}

/** The body as fetch gives it: without the content encoding the server applied. */
function decoded(res: http.IncomingMessage): Readable {
  const encoding = res.headers['content-encoding']?.trim().toLowerCase();
  const decoder =
    encoding === 'gzip' || encoding === 'x-gzip'
      ? zlib.createGunzip()
      : encoding === 'deflate'
        ? zlib.createInflate()
        : encoding === 'br'
          ? zlib.createBrotliDecompress()
          : null;
  if (decoder === null) return res;
  return pipeline(res, decoder, () => {}); // an error in either ends the other and errors the body
}
