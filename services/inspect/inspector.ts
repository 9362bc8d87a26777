// Opt-in inspection of a pipeline run: `--inspect` (the Stately inspector, through a relay on
// 127.0.0.1) and `--events FILE` (a redacted JSONL log that works offline). Both take the events
// XState reports through `createActor(..., { inspect })` and convert them with
// @statelyai/inspect's `createInspector`, so the log holds exactly what the Stately viewer reads.
//
//   const inspection = await createInspection({ inspect: true, eventsFile: 'run.jsonl' });
//   try { await runPipeline({ ..., inspect: inspection.inspect }); } finally { await inspection.close(); }
//
// close() ends every socket, timer and file handle, so a CLI run exits by itself afterwards.
import type { InspectionEvent } from 'xstate';
import { type EventLog, loggable, openEventLog } from './event-log.ts';
import { type InspectorRelay, startInspectorRelay } from './inspector-relay.ts';

export interface InspectionOptions {
  /** Relay events to the Stately inspector; prints the page to open. */
  inspect?: boolean;
  /** Write every actor event to this file as JSONL (mode 0600, secrets redacted). */
  eventsFile?: string;
  /** Relay port on 127.0.0.1 (default: an ephemeral port). */
  port?: number;
  /** Before the run starts, wait up to this long for the inspector page to connect (default 0). */
  waitForViewerMs?: number;
  /** Where the page address and notices go (default: stderr, so `--json` stdout stays clean). */
  print?: (line: string) => void;
}

export interface Inspection {
  /** Pass to `runPipeline({ inspect })`; undefined when nothing was asked for. */
  inspect?: (event: InspectionEvent) => void;
  /** The inspector page, when `inspect` was asked for. */
  url?: string;
  /** Flushes pending events, then closes the log and the relay. Safe to call twice. */
  close(): Promise<void>;
}

export async function createInspection(options: InspectionOptions): Promise<Inspection> {
  if (!options.inspect && !options.eventsFile) return { close: async () => {} };
  const print = options.print ?? ((line: string) => void process.stderr.write(`${line}\n`));
  // Loaded only on request: nothing of the inspector runs in an ordinary `memories run`.
  const { createInspector } = await import('@statelyai/inspect');

  const log: EventLog | undefined = options.eventsFile ? openEventLog(options.eventsFile) : undefined;
  let relay: InspectorRelay | undefined;
  try {
    relay = options.inspect ? await startInspectorRelay({ port: options.port }) : undefined;
  } catch (error) {
    log?.close();
    throw error;
  }

  let closed = false;
  const inspector = createInspector({
    start() {},
    stop() {},
    send(event) {
      if (closed) return;
      log?.write(event);
      // The page hands events to a third-party viewer: it gets the same redacted copy as the log.
      relay?.broadcast(JSON.stringify(loggable(event)), (event as { type: string }).type);
    },
  });

  if (relay) {
    print(`inspector: open ${relay.url} (the viewer is https://stately.ai/inspect and needs internet;`);
    print('inspector: offline, use `memories machines --html FILE` and `memories run --events FILE`)');
    const wait = options.waitForViewerMs ?? 0;
    if (wait > 0) {
      print(`inspector: waiting up to ${Math.round(wait / 1000)} s for the page to connect`);
      if (!(await relay.waitForViewer(wait))) print('inspector: no page connected; running anyway');
    }
  }

  return {
    inspect: (event) => inspector.inspect.next?.(event),
    url: relay?.url,
    async close() {
      if (closed) return;
      // createInspector converts each event in a setTimeout(0); a timer queued now runs after
      // all of those, so nothing the run reported is lost.
      await new Promise((resolve) => setTimeout(resolve, 0));
      closed = true;
      log?.close();
      await relay?.close();
    },
  };
}
