// The `--inspect` relay: reachable from this machine only, readable by its own page only, and
// gone after close() even while a page is still connected.
import { once } from 'node:events';
import { networkInterfaces } from 'node:os';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type InspectorRelay, startInspectorRelay } from '../services/inspect/inspector-relay.ts';

let relay: InspectorRelay | undefined;
afterEach(async () => {
  await relay?.close();
  relay = undefined;
});

/** Opens a page-side socket as a browser would, with an Origin header. */
function viewer(port: number, origin: string): Promise<{ socket: WebSocket; messages: string[] }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`, { origin });
    const messages: string[] = [];
    socket.on('message', (data) => messages.push(data.toString()));
    socket.once('open', () => resolve({ socket, messages }));
    socket.once('error', reject);
  });
}

/** Resolves once the page holds `count` messages, on the socket's own events rather than a timer. */
async function received(page: { socket: WebSocket; messages: string[] }, count: number): Promise<void> {
  while (page.messages.length < count) await once(page.socket, 'message');
}

describe('inspector relay', () => {
  it('listens on 127.0.0.1 only', async () => {
    relay = await startInspectorRelay();
    expect(relay.url).toBe(`http://127.0.0.1:${relay.port}/`);
    const page = await fetch(relay.url);
    expect(await page.text()).toContain('https://stately.ai/inspect');
    const lan = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (!lan) return; // a machine with loopback only has nothing else to refuse
    const refused = await new Promise<boolean>((resolve) => {
      const socket = connect(relay!.port, lan);
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('refuses sockets opened by other web pages, which could read machine context', async () => {
    relay = await startInspectorRelay();
    await expect(viewer(relay.port, 'https://evil.example')).rejects.toThrow(/401/);
    const own = await viewer(relay.port, `http://localhost:${relay.port}`);
    relay.broadcast('{"type":"@xstate.event"}', '@xstate.event');
    await received(own, 1);
    expect(own.messages).toEqual(['{"type":"@xstate.event"}']);
  });

  it('replays every actor announcement and the latest other events to a late page', async () => {
    relay = await startInspectorRelay({ replayLimit: 2 });
    relay.broadcast('actor-1', '@xstate.actor');
    for (const n of [1, 2, 3]) relay.broadcast(`event-${n}`, '@xstate.event');
    relay.broadcast('actor-2', '@xstate.actor');
    const late = await viewer(relay.port, `http://127.0.0.1:${relay.port}`);
    await received(late, 4);
    expect(late.messages).toEqual(['actor-1', 'actor-2', 'event-2', 'event-3']);
  });

  it('close() ends a connected page and frees the port', async () => {
    relay = await startInspectorRelay();
    const { socket } = await viewer(relay.port, `http://127.0.0.1:${relay.port}`);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const port = relay.port;
    await relay.close();
    relay = undefined;
    await closed;
    const again = await startInspectorRelay({ port });
    expect(again.port).toBe(port);
    await again.close();
  });

  it('waitForViewer reports whether a page came', async () => {
    relay = await startInspectorRelay();
    expect(await relay.waitForViewer(50)).toBe(false);
    const waiting = relay.waitForViewer(10_000);
    await viewer(relay.port, `http://127.0.0.1:${relay.port}`);
    expect(await waiting).toBe(true);
  });
});
