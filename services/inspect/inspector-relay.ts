// The local end of `--inspect`: an HTTP + WebSocket server on 127.0.0.1 that serves a bridge page
// and pushes inspection events to it; the page forwards them into the hosted Stately inspector
// (https://stately.ai/inspect) in an iframe, so viewing needs internet, relaying does not.
//
// Why not `createInspectorServer` from @statelyai/inspect/server (0.7.2): it listens on every
// interface (events carry machine context), cannot use an ephemeral port (its page hard-codes the
// port it was given), and its stop() leaves connected browser sockets open, which keeps the
// process alive after the run. Why no `createWebSocketInspector` either: the relay runs in this
// process, so events are handed over directly; a client socket would only add its reconnect
// loop, which retries every 5 s forever once the server is gone.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface RelayOptions {
  /** Default 0: an ephemeral port. */
  port?: number;
  /** The viewer the bridge page embeds. */
  viewerUrl?: string;
  /** Events of each kind (actor announcements, the rest) kept for a page that connects late. */
  replayLimit?: number;
}

export interface InspectorRelay {
  /** The page to open. */
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

export async function startInspectorRelay(options: RelayOptions = {}): Promise<InspectorRelay> {
  const viewerUrl = options.viewerUrl ?? 'https://stately.ai/inspect';
  const replayLimit = options.replayLimit ?? 2_000;
  // The Stately viewer needs an actor's announcement before its snapshots make sense, so those
  // are replayed in full; the rest is a bounded window of the latest events.
  const actors: string[] = [];
  const recent: string[] = [];
  const viewerWaiters = new Set<() => void>();

  const http = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/') !== '/') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(bridgePage(viewerUrl));
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
  while (Date.now() < until && [...wss.clients].some((c) => c.bufferedAmount > 0)) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// Same protocol as @statelyai/inspect's bridge: hold events until the viewer iframe says
// '@statelyai.connected', then post each one into it.
function bridgePage(viewerUrl: string): string {
  return `<!DOCTYPE html>
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
  · the viewer loads ${viewerUrl} and needs internet (offline: <code>memories machines --html FILE</code>, <code>memories run --events FILE</code>)</header>
<iframe id="viewer" src="${viewerUrl}"></iframe>
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
}
