// The fetch the model clients use (node:http with keep-alive) must behave as fetch does for what
// the openai SDK relies on: bodies and headers both ways, redirects, compressed bodies, aborts
// before and during a streamed body, connection errors, and other bodies handed to the global fetch.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeHttpFetch } from '../services/model/http-fetch.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

let server: Server;
let base: string;
const seen: Seen[] = [];

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const routes: Record<string, (req: IncomingMessage, res: ServerResponse) => void> = {
  '/echo': (req, res) => res.writeHead(201, 'Made', { 'x-answer': '42', 'content-type': 'application/json' }).end('{"ok":true}'),
  '/see-other': (_req, res) => res.writeHead(303, { location: '/echo' }).end(),
  '/temporary': (_req, res) => res.writeHead(307, { location: '/echo' }).end(),
  '/elsewhere': (_req, res) => res.writeHead(302, { location: `${base.replace('127.0.0.1', 'localhost')}/echo` }).end(),
  '/loop': (_req, res) => res.writeHead(302, { location: '/loop' }).end(),
  '/gzip': (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync('unpacked text')),
  '/empty': (_req, res) => res.writeHead(204).end(),
  '/stream': (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: first\n\n'); // then nothing more until the client gives up
  },
};

beforeAll(async () => {
  server = createServer(async (req, res) => {
    const body = await readBody(req);
    seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
    (routes[req.url!] ?? ((_q, r) => r.writeHead(404).end()))(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const last = () => seen.at(-1)!;

describe('nodeHttpFetch', () => {
  it('sends method, headers and body, and gives status, headers and body back', async () => {
    const headers = new Headers({ authorization: 'Bearer k', 'content-type': 'application/json' });
    const res = await nodeHttpFetch(`${base}/echo`, { method: 'post', headers, body: '{"input":"é日本"}' });
    expect(res.status).toBe(201);
    expect(res.statusText).toBe('Made');
    expect(res.headers.get('x-answer')).toBe('42');
    expect(res.url).toBe(`${base}/echo`);
    expect(await res.json()).toEqual({ ok: true });
    expect(last()).toMatchObject({ method: 'POST', body: '{"input":"é日本"}' });
    expect(last().headers).toMatchObject({ authorization: 'Bearer k', 'content-type': 'application/json', 'content-length': '20' });
  });

  it('follows redirects as fetch does', async () => {
    const seeOther = await nodeHttpFetch(`${base}/see-other`, { method: 'POST', body: 'x', headers: { 'content-type': 'text/plain' } });
    expect(seeOther.status).toBe(201);
    expect(last()).toMatchObject({ method: 'GET', url: '/echo', body: '' });
    expect(last().headers['content-type']).toBeUndefined();

    await nodeHttpFetch(`${base}/temporary`, { method: 'POST', body: 'kept' });
    expect(last()).toMatchObject({ method: 'POST', url: '/echo', body: 'kept' });

    // A redirect to another origin does not carry the credentials along.
    await nodeHttpFetch(`${base}/elsewhere`, { headers: { Authorization: 'Bearer secret' } });
    expect(last().url).toBe('/echo');
    expect(last().headers.authorization).toBeUndefined();

    await expect(nodeHttpFetch(`${base}/loop`)).rejects.toThrow(TypeError);
  });

  it('decodes a compressed body, and gives a 204 no body', async () => {
    expect(await (await nodeHttpFetch(`${base}/gzip`)).text()).toBe('unpacked text');
    const empty = await nodeHttpFetch(`${base}/empty`);
    expect(empty.status).toBe(204);
    expect(empty.body).toBeNull();
  });

  it('rejects with an AbortError when aborted before the answer, and errors the body when aborted during it', async () => {
    await expect(nodeHttpFetch(`${base}/echo`, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });

    const controller = new AbortController();
    const res = await nodeHttpFetch(`${base}/stream`, { signal: controller.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
    const pending = reader.read();
    controller.abort();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects a refused connection as fetch does, with the system error as the cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const error = await nodeHttpFetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toBe('fetch failed');
    expect(((error as TypeError).cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('hands a multipart body to the global fetch', async () => {
    const form = new FormData();
    form.append('purpose', 'batch');
    form.append('file', new Blob(['{"a":1}\n'], { type: 'application/jsonl' }), 'batch.jsonl');
    const res = await nodeHttpFetch(`${base}/echo`, { method: 'POST', body: form });
    expect(res.status).toBe(201);
    expect(last().headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(last().body).toContain('filename="batch.jsonl"');
  });
});
