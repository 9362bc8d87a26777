// Head+tail truncation of a text to a real o200k token budget.
//
// The streaming case is head-tail-window.ts; both share truncateSource.
import { chunkEnds } from './chunk-scanner.ts';
import { bytesOfTokens, countTokens, encode, fitsInTokens } from './tokens.ts';

export interface Truncation {
  text: string;
  truncated: boolean;
  /** Tokens kept; null when the text fits and was not tokenized whole (its bytes, or part of it
   * and the bytes of the rest, prove it fits). */
  keptTokens: number | null;
  removedTokens: number;
}

export function truncationMarker(removed: number): string {
  return `\u2026${removed} tokens truncated\u2026`;
}

/** Texts up to this many times the budget (in UTF-16 units) are checked for a fit before cutting. */
const WHOLE_COUNT_FACTOR = 4;

/** Middles longer than this (UTF-16 units) are not tokenized; their count is estimated. */
export const EXACT_MIDDLE_LIMIT = 64 * 1024;

function utf8Len(code: number): number {
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  return 3; // BMP, and each half of a surrogate pair counts 2 of the pair's 4 bytes below
}

/** Largest char index k such that UTF-8(s.slice(0, k)) ≤ bytes, never splitting a surrogate pair. */
export function charsForHeadBytes(s: string, bytes: number): number {
  let used = 0;
  let i = 0;
  while (i < s.length) {
    const code = s.charCodeAt(i);
    const pair = code >= 0xd800 && code <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    const len = pair ? 4 : utf8Len(code);
    if (used + len > bytes) break;
    used += len;
    i += pair ? 2 : 1;
  }
  return i;
}

/** Smallest char index k such that UTF-8(s.slice(k)) ≤ bytes, never splitting a surrogate pair. */
function charsForTailBytes(s: string, bytes: number): number {
  let used = 0;
  let i = s.length;
  while (i > 0) {
    const code = s.charCodeAt(i - 1);
    const pair = (code & 0xfc00) === 0xdc00 && i - 2 >= 0 && (s.charCodeAt(i - 2) & 0xfc00) === 0xd800;
    const len = pair ? 4 : utf8Len(code);
    if (used + len > bytes) break;
    used += len;
    i -= pair ? 2 : 1;
  }
  return i;
}

interface Side {
  /** Offset into the text where the kept head ends / the kept tail starts. */
  offset: number;
  tokens: number;
}

/**
 * The text being truncated: either whole, or (when it was streamed) only its head and its tail,
 * with the middle known by its size alone. Reading text that was not kept throws: the streamed
 * windows are sized so that truncation never needs to (see HeadTailWindow).
 */
interface Source {
  /** UTF-16 length of the whole text. */
  readonly length: number;
  /** UTF-8 length of the whole text. */
  readonly bytes: number;
  slice(start: number, end?: number): string;
  /** UTF-8 length of slice(start, end). */
  bytesOf(start: number, end: number): number;
  /** Chunk ends of the whole text (see chunkEnds). */
  ends(): number[];
}

function wholeSource(text: string): Source {
  let ends: number[] | null = null;
  return {
    length: text.length,
    bytes: Buffer.byteLength(text, 'utf8'),
    slice: (start, end) => text.slice(start, end),
    bytesOf: (start, end) => Buffer.byteLength(text.slice(start, end), 'utf8'),
    ends: () => (ends ??= chunkEnds(text)),
  };
}

function notKept(start: number, end: number): Error {
  return new Error(`truncation needed characters ${start}–${end}, which the streamed window did not keep`);
}

/** `head`, then `skippedChars` characters (`skippedBytes` bytes) that were not kept, then `tail`. */
export function windowedSource(head: string, tail: string, skippedChars: number, skippedBytes: number, ends: number[]): Source {
  const tailStart = head.length + skippedChars;
  const length = tailStart + tail.length;
  const slice = (start: number, end = length): string => {
    if (end <= head.length) return head.slice(start, end);
    if (start >= tailStart) return tail.slice(start - tailStart, end - tailStart);
    throw notKept(start, end);
  };
  return {
    length,
    bytes: Buffer.byteLength(head, 'utf8') + skippedBytes + Buffer.byteLength(tail, 'utf8'),
    slice,
    bytesOf: (start, end) => {
      if (end <= head.length || start >= tailStart) return Buffer.byteLength(slice(start, end), 'utf8');
      if (start > head.length || end < tailStart) throw notKept(start, end);
      return Buffer.byteLength(head.slice(start), 'utf8') + skippedBytes + Buffer.byteLength(tail.slice(0, end - tailStart), 'utf8');
    },
    ends: () => ends,
  };
}

/**
 * Keeps the tokens of a text from one side. Whole chunks are kept while they fit; the chunk that
 * does not fit is cut at a token boundary mapped back to a character boundary, then re-counted
 * (a re-tokenized prefix can differ from the prefix of the tokens).
 */
class Sides {
  private readonly counts = new Map<number, number>();
  constructor(
    private readonly text: Source,
    private readonly ends: number[],
  ) {}

  private chunk(index: number): { start: number; end: number; count: number } {
    const start = index === 0 ? 0 : this.ends[index - 1]!;
    const end = this.ends[index]!;
    let count = this.counts.get(index);
    if (count === undefined) {
      count = countTokens(this.text.slice(start, end));
      this.counts.set(index, count);
    }
    return { start, end, count };
  }

  /** Head keeping at most `budget` tokens, not passing `limitOffset`. */
  head(budget: number, limitOffset: number): Side {
    let used = 0;
    for (let i = 0; i < this.ends.length; i++) {
      const { start, end, count } = this.chunk(i);
      if (end > limitOffset) return { offset: start, tokens: used };
      if (used + count <= budget) {
        used += count;
        continue;
      }
      const piece = this.text.slice(start, end);
      const tokens = encode(piece);
      let take = budget - used;
      while (take > 0) {
        const k = charsForHeadBytes(piece, bytesOfTokens(tokens.subarray(0, take)));
        const got = countTokens(piece.slice(0, k));
        if (got <= budget - used) return { offset: start + k, tokens: used + got };
        take -= got - (budget - used);
      }
      return { offset: start, tokens: used };
    }
    return { offset: this.text.length, tokens: used };
  }

  /** Tail keeping at most `budget` tokens, not starting before `limitOffset`. */
  tail(budget: number, limitOffset: number): Side {
    let used = 0;
    for (let i = this.ends.length - 1; i >= 0; i--) {
      let { start, end, count } = this.chunk(i);
      if (end <= limitOffset) return { offset: end, tokens: used };
      if (start < limitOffset) {
        // The head ends inside this chunk: only the part after it is available to the tail.
        start = limitOffset;
        count = countTokens(this.text.slice(start, end));
      }
      if (used + count <= budget) {
        used += count;
        if (start === limitOffset) return { offset: start, tokens: used };
        continue;
      }
      const piece = this.text.slice(start, end);
      const tokens = encode(piece);
      let take = budget - used;
      while (take > 0) {
        const k = charsForTailBytes(piece, bytesOfTokens(tokens.subarray(tokens.length - take)));
        const got = countTokens(piece.slice(k));
        if (got <= budget - used) return { offset: start + k, tokens: used + got };
        take -= got - (budget - used);
      }
      return { offset: end, tokens: used };
    }
    return { offset: 0, tokens: used };
  }
}

/**
 * Keeps at most `limit` tokens of `text`: about half from the head, half from the tail, with
 * `…N tokens truncated…` between them (N = removed tokens; estimated from the kept parts'
 * bytes/token ratio when the middle is long, so that the middle is never tokenized). The result,
 * marker included, counts ≤ limit tokens. With a limit smaller than the marker itself (e.g. 0),
 * the result is the marker alone.
 */
export function truncateToTokens(text: string, limit: number): Truncation {
  return truncateSource(wholeSource(text), limit);
}

export function truncateSource(text: Source, limit: number): Truncation {
  const budget = Math.max(0, Math.floor(limit));
  const totalBytes = text.bytes;
  // Every token is at least one byte, so a text with no more bytes than the limit fits.
  if (totalBytes <= budget) {
    // A token is at least one byte, so this text fits without loading the tokenizer.
    return { text: text.slice(0), truncated: false, keptTokens: null, removedTokens: 0 };
  }
  // A text not far over the budget in bytes usually fits in tokens: its token bound or one (partial)
  // count settles it, before anything else needs the tokenizer.
  if (text.length <= WHOLE_COUNT_FACTOR * budget) {
    const whole = text.slice(0);
    if (fitsInTokens(whole, totalBytes, budget)) return { text: whole, truncated: false, keptTokens: null, removedTokens: 0 };
  }

  // The marker's digit count never exceeds that of the byte length (N ≤ bytes), and digits
  // tokenize in groups of three, so this reserve covers the final marker.
  const reserve = countTokens(truncationMarker(totalBytes));
  if (budget <= reserve) {
    const removed = text.length > EXACT_MIDDLE_LIMIT ? estimateFromBytes(totalBytes) : countTokens(text.slice(0));
    if (removed <= budget) return { text: text.slice(0), truncated: false, keptTokens: removed, removedTokens: 0 };
    return { text: truncationMarker(removed), truncated: true, keptTokens: 0, removedTokens: removed };
  }

  const sides = new Sides(text, text.ends());
  let keep = budget - reserve;
  for (let attempt = 0; attempt < 8 && keep >= 0; attempt++) {
    const head = sides.head(Math.ceil(keep / 2), text.length);
    if (head.offset === text.length) {
      // The whole text fits in the head budget alone.
      return { text: text.slice(0), truncated: false, keptTokens: head.tokens, removedTokens: 0 };
    }
    const tail = sides.tail(keep - head.tokens, head.offset);
    if (tail.offset <= head.offset) {
      return { text: text.slice(0), truncated: false, keptTokens: head.tokens + tail.tokens, removedTokens: 0 };
    }
    const kept = head.tokens + tail.tokens;
    let removed: number;
    if (tail.offset - head.offset <= EXACT_MIDDLE_LIMIT) {
      removed = countTokens(text.slice(head.offset, tail.offset));
      // Head and tail met (up to one chunk): the whole text may fit after all.
      if (kept + removed <= budget) {
        const all = countTokens(text.slice(0));
        if (all <= budget) return { text: text.slice(0), truncated: false, keptTokens: all, removedTokens: 0 };
      }
    } else {
      const middleBytes = text.bytesOf(head.offset, tail.offset);
      const keptBytes = totalBytes - middleBytes;
      removed = kept === 0 ? estimateFromBytes(middleBytes) : Math.max(1, Math.round((middleBytes * kept) / keptBytes));
    }
    const out = text.slice(0, head.offset) + truncationMarker(removed) + text.slice(tail.offset);
    // The pieces were counted apart; joining them can change the count at the two seams, so
    // the output is counted again and the budget tightened by any excess.
    const actual = countTokens(out);
    if (actual <= budget) {
      return { text: out, truncated: true, keptTokens: kept, removedTokens: removed };
    }
    keep -= actual - budget;
  }
  const removed = estimateFromBytes(totalBytes);
  return { text: truncationMarker(removed), truncated: true, keptTokens: 0, removedTokens: removed };
}

/** Rough count for text we choose not to tokenize: o200k averages ~2.5 bytes/token on rollouts. */
function estimateFromBytes(bytes: number): number {
  return Math.max(1, Math.round(bytes / 2.5));
}
