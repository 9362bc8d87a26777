// Streamed model replies are read by our own SSE reader (the SDK's costs ~0.5 ms of CPU per
// reply). It must split events exactly as the SSE spec does, however the bytes arrive.
import { APIError } from 'openai';
import { describe, expect, it } from 'vitest';
import { SseReader, sseJson, type SseEvent } from '../services/model/sse-reader.ts';

function body(chunks: Array<string | Uint8Array>): ReadableStream<Uint8Array> & { cancelled: boolean } {
  const encoder = new TextEncoder();
  let i = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (i === chunks.length) return controller.close();
      const chunk = chunks[i++]!;
      controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
    },
    cancel() {
      state.cancelled = true;
    },
  });
  const state = Object.assign(stream, { cancelled: false });
  return state;
}

async function eventsOf(chunks: Array<string | Uint8Array>): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const event of new SseReader(body(chunks)).events()) out.push(event);
  return out;
}

const STREAM =
  'event: response.created\ndata: {"type":"response.created"}\n\n' +
  ': a comment\r\n' +
  'event: response.output_text.delta\r\ndata: {"type":"response.output_text.delta",\r\ndata: "delta":"é😀"}\r\n\r\n' +
  'event:response.completed\rdata:{"type":"response.completed"}\r\r' +
  'data: {"type":"no.name"}\n\n';

const EXPECTED: SseEvent[] = [
  { event: 'response.created', data: '{"type":"response.created"}' },
  { event: 'response.output_text.delta', data: '{"type":"response.output_text.delta",\n"delta":"é😀"}' },
  { event: 'response.completed', data: '{"type":"response.completed"}' },
  { event: null, data: '{"type":"no.name"}' },
];

describe('SseReader', () => {
  it('splits events at \\n, \\r\\n and \\r line ends, joins data lines and skips comments', async () => {
    expect(await eventsOf([STREAM])).toEqual(EXPECTED);
  });

  it('gives the same events however the bytes are cut, \\r\\n and multi-byte characters included', async () => {
    const bytes = new TextEncoder().encode(STREAM);
    for (let cut = 1; cut < bytes.length; cut++) {
      expect(await eventsOf([bytes.slice(0, cut), bytes.slice(cut)])).toEqual(EXPECTED);
    }
    expect(await eventsOf([...bytes].map((b) => new Uint8Array([b])))).toEqual(EXPECTED);
  });

  it('keeps an event whose body ends without the closing blank line', async () => {
    expect(await eventsOf(['event: a\ndata: 1\n\nevent: b\ndata: 2'])).toEqual([
      { event: 'a', data: '1' },
      { event: 'b', data: '2' },
    ]);
    expect(await eventsOf(['data: 3\n'])).toEqual([{ event: null, data: '3' }]);
    expect(await eventsOf([''])).toEqual([]);
  });
});

describe('sseJson', () => {
  it('parses what is used, skips other named events unparsed, and stops at [DONE] while reading on', async () => {
    const stream = body(['event: skipped\ndata: not json\n\n', 'event: kept\ndata: {"n":1}\n\ndata: {"n":2}\n\n', 'data: [DONE]\n\ndata: {"n":3}\n\n']);
    const out: unknown[] = [];
    for await (const item of sseJson(new SseReader(stream), new Headers(), new Set(['kept']))) out.push(item);
    expect(out).toEqual([{ n: 1 }, { n: 2 }]);
    expect(stream.cancelled).toBe(false); // read to its end, so the connection can be reused
  });

  it("throws the SDK's APIError for a payload with an error, and a SyntaxError for bad JSON", async () => {
    const withError = sseJson(new SseReader(body(['data: {"error":{"message":"overloaded"}}\n\n'])), new Headers());
    await expect(withError.next()).rejects.toBeInstanceOf(APIError);
    const bad = sseJson(new SseReader(body(['data: {"n":\n\n'])), new Headers());
    await expect(bad.next()).rejects.toBeInstanceOf(SyntaxError);
  });

  it('cancels the body when the caller stops early', async () => {
    const stream = body(['data: {"n":1}\n\n', 'data: {"n":2}\n\n', 'data: {"n":3}\n\n']);
    for await (const item of sseJson<{ n: number }>(new SseReader(stream), new Headers())) if (item.n === 1) break;
    expect(stream.cancelled).toBe(true);
  });
});
