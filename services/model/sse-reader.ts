// Reads a streamed model reply (server-sent events) from the response body the openai SDK hands
// back. The SDK's own reader copies the rest of its buffer after every event and decodes line by
// line: ~0.5 ms of CPU per stage-1 reply, four times what this one takes, and phase 1 makes one
// call per rollout. Events are split as the SSE spec says (lines end in \n, \r\n or \r; a blank line
// ends an event; `data:` lines join with \n; `:` lines are comments), and their JSON is parsed as
// the SDK does, except for named events the caller has no use for: those are not parsed at all.
import { APIError } from 'openai';

export interface SseEvent {
  event: string | null;
  data: string;
}

/** The events of an SSE body, in order. `cancel()` ends the iteration (the body is cancelled). */
export class SseReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  cancel(): void {
    this.reader.cancel().catch(() => {});
  }

  async *events(): AsyncGenerator<SseEvent> {
    const decoder = new TextDecoder();
    let buffer = '';
    let event: string | null = null;
    let data: string[] = [];
    const line = (text: string): SseEvent | null => {
      if (text === '') {
        if (event === null && data.length === 0) return null;
        const done = { event, data: data.join('\n') };
        event = null;
        data = [];
        return done;
      }
      if (text.charCodeAt(0) === 0x3a) return null; // ':' a comment
      const colon = text.indexOf(':');
      const field = colon === -1 ? text : text.slice(0, colon);
      let value = colon === -1 ? '' : text.slice(colon + 1);
      if (value.charCodeAt(0) === 0x20) value = value.slice(1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
      return null;
    };
    for (;;) {
      const { done, value } = await this.reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let start = 0;
      // Where the next \r is (-1: none in the buffer), so a body without any is searched once.
      let cr = buffer.indexOf('\r');
      for (;;) {
        if (cr !== -1 && cr < start) cr = buffer.indexOf('\r', start);
        const lf = buffer.indexOf('\n', start);
        const end = cr === -1 ? lf : lf === -1 ? cr : Math.min(lf, cr);
        if (end === -1) break;
        // A \r at the very end may be the first half of \r\n: wait for the next chunk.
        if (!done && end === buffer.length - 1 && buffer.charCodeAt(end) === 0x0d) break;
        const emitted = line(buffer.slice(start, end));
        start = end + (buffer.charCodeAt(end) === 0x0d && buffer.charCodeAt(end + 1) === 0x0a ? 2 : 1);
        if (emitted) yield emitted;
      }
      buffer = buffer.slice(start);
      if (done) break;
    }
    // The body ended without a final blank line: what was collected is still an event.
    if (buffer !== '') line(buffer);
    const last = line('');
    if (last) yield last;
  }
}

/**
 * The JSON payloads of the events, as the SDK's stream yields them: nothing after `[DONE]` (the
 * body is still read to its end), and an event whose payload carries `error` throws the SDK's
 * APIError. With `used`, an event whose name is not in it is skipped unparsed (one without a name
 * is always parsed). Left early, the body is cancelled.
 */
export async function* sseJson<T>(reader: SseReader, headers: Headers, used?: ReadonlySet<string>): AsyncGenerator<T> {
  let ended = false;
  let done = false;
  try {
    for await (const sse of reader.events()) {
      if (done) continue;
      if (sse.data.startsWith('[DONE]')) {
        done = true;
        continue;
      }
      if (used !== undefined && sse.event !== null && !used.has(sse.event)) continue;
      const data = JSON.parse(sse.data) as { error?: unknown } | null;
      if (data && data.error) throw new APIError(undefined, data.error as object, undefined, headers);
      yield data as T;
    }
    ended = true;
  } finally {
    if (!ended) reader.cancel();
  }
}
