// Opt-in inspection: `--inspect` (Stately viewer via a 127.0.0.1 relay) and `--events FILE` (offline redacted JSONL).
// Both convert events with @statelyai/inspect's `createInspector`, so the log holds exactly what the viewer reads.
import type { InspectionEvent } from 'xstate';
import { withOptionalPackages } from '../optional-module.ts';
import { type EventLog, loggable, openEventLog } from './event-log.ts';

export interface InspectionOptions {
  inspect?: boolean;
  eventsFile?: string;
  /** Before the run starts, wait up to this long for the inspector page to connect (default 0). */
  waitForViewerMs?: number;
}

export interface Inspection {
  /** Pass to `runPipeline({ inspect })`; undefined when nothing was asked for. */
  inspect?: (event: InspectionEvent) => void;
  /** Flushes pending events, then closes the log and the relay, so a CLI run exits by itself. Safe to call twice. */
  close(): Promise<void>;
}

const INSPECTOR_FEATURE = 'the inspector (run --inspect, --events)';
/** @statelyai/inspect converts the events; ws carries them to the page (the inspector's own dependency too). */
const INSPECTOR_PACKAGES = ['@statelyai/inspect', 'ws'];

export async function createInspection(options: InspectionOptions): Promise<Inspection> {
  if (!options.inspect && !options.eventsFile) return { close: async () => {} };
  // stderr, so `--json` stdout stays clean.
  const print = (line: string) => void process.stderr.write(`${line}\n`);
  // Loaded only on request, and an optional install: nothing of the inspector runs in an ordinary `memories run`.
  const { createInspector, startInspectorRelay } = await withOptionalPackages(
    INSPECTOR_FEATURE,
    INSPECTOR_PACKAGES,
    async () => ({
      createInspector: (await import('@statelyai/inspect')).createInspector,
      startInspectorRelay: options.inspect ? (await import('./inspector-relay.ts')).startInspectorRelay : undefined,
    }),
  );

  const log: EventLog | undefined = options.eventsFile ? openEventLog(options.eventsFile) : undefined;
  const relay = startInspectorRelay
    ? await startInspectorRelay().catch((error: unknown) => {
        log?.close();
        throw error;
      })
    : undefined;

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
    async close() {
      if (closed) return;
      // createInspector converts each event in a setTimeout(0); a timer queued now runs after them all.
      await new Promise((resolve) => setTimeout(resolve, 0));
      closed = true;
      log?.close();
      await relay?.close();
    },
  };
}
