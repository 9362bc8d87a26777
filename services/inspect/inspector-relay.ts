// The local end of `--inspect`: a 127.0.0.1 HTTP + WebSocket relay feeding the hosted Stately viewer through a bridge page.
// Not @statelyai/inspect's server (0.7.2): it binds every interface, has no ephemeral port, and its stop() leaks sockets.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { WebSocket, WebSocketServer } from 'ws';

/** `replayLimit`: events of each kind (actor announcements, the rest) kept for a page that connects late. */
export type RelayOptions = { port?: number; replayLimit?: number };

export interface InspectorRelay {
  url: string;
  port: number;
  /** Sends one serialized inspection event to every connected page (and keeps it for late ones). */
  broadcast(message: string, kind: string): void;
  /** Resolves when a page connects, or with false after `timeoutMs`. */
  waitForViewer(timeoutMs: number): Promise<boolean>;
  /** Flushes briefly, then closes every socket and the server. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const VIEWER_URL = 'https://stately.ai/inspect';

export async function startInspectorRelay(options: RelayOptions = {}): Promise<InspectorRelay> {
  const replayLimit = options.replayLimit ?? 2_000;
  // The viewer needs an actor's announcement before its snapshots make sense: replayed in full, the rest bounded.
  const actors: string[] = [];
  const recent: string[] = [];
  const viewerWaiters = new Set<() => void>();

  const http = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/') !== '/') return void res.writeHead(404).end();
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(BRIDGE_PAGE);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(options.port ?? 0, HOST, () => resolve());
  });
  const port = (http.address() as AddressInfo).port;
  const allowedOrigins = new Set([`http://${HOST}:${port}`, `http://localhost:${port}`]);

  const wss = new WebSocketServer({
    server: http,
    // Browsers let any web page open a WebSocket to 127.0.0.1; only our own page may listen in.
    verifyClient: ({ req }: { req: IncomingMessage }) => allowedOrigins.has(req.headers.origin ?? ''),
  });
  wss.on('connection', (socket) => {
    for (const message of [...actors, ...recent]) socket.send(message);
    for (const wake of viewerWaiters) wake();
  });

  return {
    url: `http://${HOST}:${port}/`,
    port,
    broadcast(message, kind) {
      if (kind === '@xstate.actor') {
        actors.push(message);
        // Keep the first announcement (the root actor); drop the oldest children beyond the limit.
        if (actors.length > replayLimit) actors.splice(1, 1);
      } else {
        recent.push(message);
        if (recent.length > replayLimit) recent.shift();
      }
      for (const client of wss.clients) if (client.readyState === WebSocket.OPEN) client.send(message);
    },
    waitForViewer(timeoutMs) {
      if (wss.clients.size > 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const done = (connected: boolean) => {
          clearTimeout(timer);
          viewerWaiters.delete(wake);
          resolve(connected);
        };
        const wake = () => done(true);
        const timer = setTimeout(() => done(false), timeoutMs);
        viewerWaiters.add(wake);
      });
    },
    async close() {
      for (const wake of viewerWaiters) wake();
      await drain(wss, 1_000);
      for (const client of wss.clients) client.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

/** Gives connected pages up to `limitMs` to receive what was already sent. */
async function drain(wss: WebSocketServer, limitMs: number): Promise<void> {
  const until = Date.now() + limitMs;
  while (Date.now() < until && [...wss.clients].some((c) => c.bufferedAmount > 0)) await sleep(20);
}

// @statelyai/inspect's bridge protocol: hold events until the iframe says '@statelyai.connected'.
const BRIDGE_PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>memories-pipeline · Stately inspector</title>
<style>
  html, body { height: 100%; margin: 0; font-family: sans-serif; }
  body { display: flex; flex-direction: column; }
  header { padding: 4px 8px; font-size: 13px; background: #eee; }
  iframe { flex: 1; border: 0; width: 100%; }
</style>
</head>
<body>
<header>memories-pipeline events: <span id="count">0</span> · <span id="status">connecting…</span>
  · the viewer loads ${VIEWER_URL} and needs internet (offline: <code>memories machines --html FILE</code>, <code>memories run --events FILE</code>)</header>
<iframe id="viewer" src="${VIEWER_URL}"></iframe>
<script>
  const viewer = document.getElementById('viewer');
  const count = document.getElementById('count');
  const status = document.getElementById('status');
  const held = [];
  let ready = false;
  let received = 0;
  window.addEventListener('message', (e) => {
    if (e.source !== viewer.contentWindow || !e.data || e.data.type !== '@statelyai.connected') return;
    ready = true;
    for (const event of held.splice(0)) viewer.contentWindow.postMessage(event, '*');
  });
  const ws = new WebSocket('ws://' + location.host + '/');
  ws.onopen = () => { status.textContent = 'live'; };
  ws.onclose = () => { status.textContent = 'run finished (relay closed)'; };
  ws.onmessage = (m) => {
    const event = JSON.parse(m.data);
    count.textContent = String(++received);
    if (ready) viewer.contentWindow.postMessage(event, '*');
    else held.push(event);
  };
</script>
</body>
</html>
`;
