// Truncation of a text that streams in (a rollout of tens of MB): only a head window and a tail
// ring are held, sized by the token limit, and the result is the one truncateToTokens would give
// for the whole text.
import { ChunkScanner, TARGET_CHUNK } from './chunk-scanner.ts';
import { countTokens, MAX_RUN, tokenBound } from './tokens.ts';
import {
  charsForHeadBytes,
  EXACT_MIDDLE_LIMIT,
  truncateSource,
  truncateToTokens,
  type Truncation,
  windowedSource,
} from './truncation.ts';

/**
 * Longest o200k_base token, in UTF-8 bytes: 128 (id 72056, a run of 128 spaces). Found once,
 * offline, by decoding every token id with tiktoken's `decode_single_token_bytes`.
 */
const MAX_TOKEN_BYTES = 128;
/**
 * Longest chunk of well-formed text, in UTF-8 bytes: a chunk ends at the first split place at
 * least TARGET_CHUNK characters in, split places are at most MAX_RUN + 1 apart, and a UTF-16
 * unit is at most 3 bytes.
 */
const MAX_CHUNK_BYTES = 3 * (TARGET_CHUNK + MAX_RUN + 1);
/** Kept beyond what a tail can need, so that a middle with a skipped part always has more than
 * EXACT_MIDDLE_LIMIT characters (at least one per 3 bytes) and is never tokenized. */
const MIDDLE_SLACK_BYTES = 3 * EXACT_MIDDLE_LIMIT;

export interface StreamedTruncation extends Truncation {
  /** Most bytes of the text held at once between pieces (head window and tail ring). */
  retainedBytes: number;
  /** Bytes of the text's middle that were dropped unread by the truncation. */
  skippedBytes: number;
}

/**
 * Truncates a text that arrives in pieces as truncateToTokens would truncate it whole, holding
 * only a head window and a tail ring of it, both bounded by the limit, not by the text's size.
 *
 * Why the windows suffice: the head and the tail each add whole chunks while they fit in their
 * token budget, then cut into one more chunk. A token is at most MAX_TOKEN_BYTES, so chunks worth
 * b tokens hold at most b × MAX_TOKEN_BYTES bytes, and one chunk at most MAX_CHUNK_BYTES. The head
 * budget is at most ⌈limit/2⌉; the tail budget is what the head left, at most ⌊limit/2⌋ plus the
 * head's shortfall in the chunk it cut, which is less than that chunk's count. So once the head
 * window is full, the largest count among the chunks a head can reach sizes the tail ring.
 * Pieces must be well-formed UTF-16 (JSON.stringify output is).
 */
export class HeadTailWindow {
  private readonly headLimit: number;
  /** Set once the tail ring first needs trimming (the head window is full by then). */
  private tailLimit: number | null = null;
  private readonly minTailLimit: number;
  private headParts: string[] = [];
  private headChars = 0;
  private headBytes = 0;
  private headFull = false;
  private readonly ring = new Fifo<{ text: string; bytes: number }>();
  private ringBytes = 0;
  /** Offset in the text of the ring's first character. */
  private ringStart = 0;
  private skippedChars = 0;
  private skippedBytes = 0;
  private retainedBytes = 0;
  private readonly headEnds: number[] = [];
  private readonly tailEnds = new Fifo<number>();
  /** fitsUntokenized, once asked (null: not yet, or text appended since). */
  private fits: boolean | null = null;
  private readonly scanner = new ChunkScanner((end) => (end <= this.headChars ? this.headEnds : this.tailEnds).push(end));

  constructor(private readonly limit: number) {
    const budget = Math.max(0, Math.floor(limit));
    this.headLimit = MAX_TOKEN_BYTES * Math.ceil(budget / 2) + MAX_CHUNK_BYTES;
    this.minTailLimit = MAX_TOKEN_BYTES * Math.floor(budget / 2) + MAX_CHUNK_BYTES + MIDDLE_SLACK_BYTES;
  }

  append(piece: string): void {
    if (piece === '') return;
    this.fits = null;
    let rest = piece;
    if (!this.headFull) {
      const room = this.headLimit - this.headBytes;
      const bytes = Buffer.byteLength(piece, 'utf8');
      if (bytes < room) {
        this.headParts.push(piece);
        this.headChars += piece.length;
        this.headBytes += bytes;
        this.retainedBytes = Math.max(this.retainedBytes, this.headBytes);
        // Chunk ends are only needed once something may be skipped: most rollouts never get here.
        return;
      }
      const k = charsForAtLeastBytes(piece, room);
      // Copied, so that the slice does not keep the whole (maybe huge) piece alive.
      this.headParts.push(flatCopy(piece.slice(0, k)));
      const head = this.head();
      this.headChars = head.length;
      this.headBytes = Buffer.byteLength(head, 'utf8');
      this.headFull = true;
      this.ringStart = this.headChars;
      this.scanner.push(head);
      rest = piece.slice(k);
    }
    if (rest !== '') {
      const bytes = Buffer.byteLength(rest, 'utf8');
      this.ring.push({ text: rest, bytes });
      this.ringBytes += bytes;
      this.scanner.push(rest);
    }
    this.trimRing();
    this.retainedBytes = Math.max(this.retainedBytes, this.headBytes + this.ringBytes);
  }

  /**
   * Whether the text so far fits the limit by its byte length or its token bound: finish() will
   * then not load the tokenizer. Settled once per text (append starts over).
   */
  get fitsUntokenized(): boolean {
    if (this.fits === null) {
      const budget = Math.max(0, Math.floor(this.limit));
      this.fits = !this.headFull && (this.headBytes <= budget || tokenBound(this.head(), budget) <= budget);
    }
    return this.fits;
  }

  /** Call once, after the last piece. */
  finish(): StreamedTruncation {
    const stats = { retainedBytes: this.retainedBytes, skippedBytes: this.skippedBytes };
    // The result truncateToTokens gives a text that fits, without asking it again.
    if (this.fitsUntokenized) return { text: this.head(), truncated: false, keptTokens: null, removedTokens: 0, ...stats };
    if (this.headFull) this.scanner.finish();
    const head = this.head();
    const tail = this.ring.toArray().map((r) => r.text).join('');
    if (this.skippedBytes === 0) return { ...truncateToTokens(head + tail, this.limit), ...stats };
    const source = windowedSource(head, tail, this.skippedChars, this.skippedBytes, [...this.headEnds, ...this.tailEnds.toArray()]);
    return { ...truncateSource(source, this.limit), ...stats };
  }

  /** The head window's text, joined once. */
  private head(): string {
    if (this.headParts.length > 1) this.headParts = [this.headParts.join('')];
    return this.headParts[0] ?? '';
  }

  private trimRing(): void {
    if (!this.headFull || this.ringBytes <= this.minTailLimit) return;
    this.tailLimit ??= this.minTailLimit + MAX_TOKEN_BYTES * this.maxHeadChunkTokens();
    const limit = this.tailLimit;
    while (this.ring.size > 1 && this.ringBytes - this.ring.first()!.bytes >= limit) this.skip(this.ring.shift());
    // A piece much larger than the ring (a huge item) is cut, so that it is not held whole.
    const excess = this.ringBytes - limit;
    if (excess > limit) {
      const first = this.ring.first()!;
      const text = first.text.slice(0, charsForHeadBytes(first.text, excess));
      const dropped = { text, bytes: Buffer.byteLength(text, 'utf8') };
      this.skip(dropped);
      first.text = flatCopy(first.text.slice(text.length));
      first.bytes -= dropped.bytes;
    }
    while (this.tailEnds.size > 0 && this.tailEnds.first()! < this.ringStart) this.tailEnds.shift();
  }

  private skip(part: { text: string; bytes: number }): void {
    this.ringBytes -= part.bytes;
    this.ringStart += part.text.length;
    this.skippedChars += part.text.length;
    this.skippedBytes += part.bytes;
  }

  /**
   * The largest token count among the head window's chunks that a head of at most ⌈limit/2⌉
   * tokens can reach: the chunks it keeps whole and the one it cuts into.
   */
  private maxHeadChunkTokens(): number {
    const head = this.headParts[0]!;
    const headBudget = Math.ceil(Math.max(0, Math.floor(this.limit)) / 2);
    let used = 0;
    let max = 0;
    for (let i = 0; i < this.headEnds.length; i++) {
      const count = countTokens(head.slice(i === 0 ? 0 : this.headEnds[i - 1]!, this.headEnds[i]!));
      max = Math.max(max, count);
      if (used + count > headBudget) return max;
      used += count;
    }
    throw new Error('the head window ended before the head budget: its size bound is wrong');
  }
}

/** A queue over an array: Array#shift copies the rest of a large array every time. */
class Fifo<T> {
  private items: Array<T | undefined> = [];
  private start = 0;

  get size(): number {
    return this.items.length - this.start;
  }

  push(item: T): void {
    this.items.push(item);
  }

  first(): T | undefined {
    return this.items[this.start];
  }

  shift(): T {
    const item = this.items[this.start]!;
    this.items[this.start++] = undefined; // let a dropped piece be freed now
    if (this.start >= 1024 && this.start * 2 >= this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
    return item;
  }

  toArray(): T[] {
    return this.items.slice(this.start) as T[];
  }
}

/** Smallest char index k such that UTF-8(s.slice(0, k)) ≥ bytes (or s.length), never splitting a surrogate pair. */
function charsForAtLeastBytes(s: string, bytes: number): number {
  const k = charsForHeadBytes(s, bytes);
  if (k >= s.length || Buffer.byteLength(s.slice(0, k), 'utf8') >= bytes) return k;
  const pair = (s.charCodeAt(k) & 0xfc00) === 0xd800 && (s.charCodeAt(k + 1) & 0xfc00) === 0xdc00;
  return k + (pair ? 2 : 1);
}

/**
 * A copy of `text` that does not share memory with the string it was sliced from: V8 keeps a
 * slice's parent alive, and slicing a fresh concatenation copies the characters into a new string.
 */
function flatCopy(text: string): string {
  return ` ${text}`.slice(1);
}

