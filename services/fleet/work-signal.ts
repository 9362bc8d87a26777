// Wakes an idle worker when a rollout is ingested anywhere in the fleet (LISTEN memories_work); a lost listening
// connection (a database restart) is simply opened again at the next wait, and polling covers the gap.
import pg from 'pg';
import type { Logger } from '../logger.ts';
import { CHANGED_SINCE_NOTIFY } from './ingest.ts';

export interface WorkSignal {
  /** Resolves at the next notification, after `ms`, or at `close()`, whichever comes first. */
  wait(ms: number): Promise<void>;
  close(): Promise<void>;
}

export function listenForWork(url: string, log: Logger): WorkSignal {
  let client: pg.Client | null = null;
  let connecting: Promise<void> | null = null;
  let wake: (() => void) | null = null;
  let closed = false;

  const drop = (reason: string) => {
    if (!client) return;
    log.warn({ reason }, 'work signal lost; polling until it is back');
    const old = client;
    client = null;
    void old.end().catch(() => undefined);
  };

  function connect(): Promise<void> {
    const next = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000, keepAlive: true });
    next.on('error', (error) => drop(error.message));
    next.on('end', () => client === next && drop('connection ended'));
    next.on('notification', () => wake?.());
    return next
      .connect()
      .then(() => next.query(`LISTEN ${CHANGED_SINCE_NOTIFY}`))
      .then(() => {
        if (closed) return void next.end().catch(() => undefined);
        client = next;
      })
      .catch(() => void next.end().catch(() => undefined));
  }

  return {
    async wait(ms) {
      if (closed) return;
      if (!client && !connecting) connecting = connect().finally(() => (connecting = null));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, ms);
        function done() {
          clearTimeout(timer);
          wake = null;
          resolve();
        }
        wake = done;
      });
    },
    async close() {
      closed = true;
      wake?.();
      await connecting;
      await client?.end().catch(() => undefined);
      client = null;
    },
  };
}
