// The `--events FILE` sink: redacted JSONL, mode 0600. Events hold cyclic actor refs and errors that `redactDeep`
// (plain JSON only) cannot take, so `loggable` makes values JSON-safe and redacts every string in one walk.
import { closeSync, fchmodSync, openSync, writeSync } from 'node:fs';
import { redactSecrets as redact } from '../redaction/redact.ts';

const MAX_DEPTH = 12;

/** A JSON-safe copy of `value` with every string redacted. */
export const loggable = (value: unknown): unknown => walk(value, 0, new WeakSet());

function walk(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value !== 'object') return undefined; // undefined, symbol: dropped as JSON drops them
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  seen.add(value);
  try {
    // An actor ref (in `children`, spawn events) would drag the whole actor system in.
    if (isActorRef(value)) return { actorRef: redact(String(value.id)) };
    // JSON.stringify turns an Error into {}; keep what explains the failure.
    if (value instanceof Error) {
      const own = walk({ ...value }, depth + 1, seen) as Record<string, unknown>;
      return { name: value.name, message: redact(value.message), ...own };
    }
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') return walk(toJSON.call(value), depth + 1, seen);
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1, seen) ?? null);
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const safe = walk(item, depth + 1, seen);
      if (safe !== undefined) out[redact(key)] = safe;
    }
    return out;
  } finally {
    seen.delete(value); // a value shared by two branches is not a cycle
  }
}

function isActorRef(value: object): value is { id: unknown } {
  const ref = value as { sessionId?: unknown; send?: unknown; getSnapshot?: unknown };
  return typeof ref.sessionId === 'string' && typeof ref.send === 'function' && typeof ref.getSnapshot === 'function';
}

export interface EventLog {
  readonly path: string;
  /** Synchronous, so a crash loses at most the current event. */
  write(event: unknown): void;
  close(): void;
}

/** Creates or truncates `path` with mode 0600 (also when it already existed with another mode). */
export function openEventLog(path: string): EventLog {
  const fd = openSync(path, 'w', 0o600);
  fchmodSync(fd, 0o600);
  let open = true;
  return {
    path,
    write(event) {
      if (!open) return; // late events after close() are dropped, not a crash
      writeSync(fd, `${JSON.stringify(loggable(event))}\n`);
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
    },
  };
}
