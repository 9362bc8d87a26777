// Head+tail truncation of a text to a real o200k token budget, whole or as it streams in.
//
// Every token is at least 1 and at most MAX_TOKEN_BYTES bytes of UTF-8. So a text of at most
// `limit` bytes fits without the tokenizer, and a head or tail of at most ⌈limit/2⌉ tokens lies
// within the first or last windowBytes(limit) bytes: truncation reads nothing else, and a
// streamed text is held as those two windows, whatever its size. A text longer than both
// windows has more than `limit` tokens, so it never fits.
import { bytesOfTokens, countTokens, encode, fitsInTokens } from './tokens.ts';

export interface Truncation {
  text: string;
  truncated: boolean;
  /** Tokens kept; null when the text was shown to fit without counting all of it. */
  keptTokens: number | null;
  removedTokens: number;
}

export interface StreamedTruncation extends Truncation {
  /** Most bytes of the text held between pieces (the two windows). */
  retainedBytes: number;
  /** Bytes of the text's middle dropped unread. */
  skippedBytes: number;
}

export function truncationMarker(removed: number): string {
  return `\u2026${removed} tokens truncated\u2026`;
}

/**
 * Longest o200k_base token, in UTF-8 bytes: 128 (id 72056, a run of 128 spaces). Found once,
 * offline, by decoding every token id with tiktoken's `decode_single_token_bytes`.
 */
const MAX_TOKEN_BYTES = 128;
/** Tokens the tail may take beyond half the budget (what the head fell short by). */
const SHORTFALL_TOKENS = 64;
/** Middles up to this many UTF-16 units are counted; longer ones are estimated from the kept parts. */
const EXACT_MIDDLE_LIMIT = 64 * 1024;
/** Texts up to this many times the budget in bytes are checked for a fit before anything is cut. */
const WHOLE_COUNT_FACTOR = 4;

/** Bytes each window holds; the slack keeps a middle with a skipped part longer than EXACT_MIDDLE_LIMIT. */
function windowBytes(budget: number): number {
  return MAX_TOKEN_BYTES * (Math.ceil(budget / 2) + SHORTFALL_TOKENS) + 3 * (EXACT_MIDDLE_LIMIT + 1);
}

function utf8Len(code: number): number {
  if (code < 0x80) return 1;
  return code < 0x800 ? 2 : 3; // each half of a surrogate pair counts 2 of the pair's 4 bytes
}

/** Largest k such that UTF-8(s.slice(0, k)) ≤ bytes, never splitting a surrogate pair. */
export function charsForHeadBytes(s: string, bytes: number): number {
  let used = 0;
  let i = 0;
  while (i < s.length) {
    const pair = (s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    used += pair ? 4 : utf8Len(s.charCodeAt(i));
    if (used > bytes) break;
    i += pair ? 2 : 1;
  }
  return i;
}

/** Smallest k such that UTF-8(s.slice(k)) ≤ bytes, never splitting a surrogate pair. */
function charsForTailBytes(s: string, bytes: number): number {
  let used = 0;
  let i = s.length;
  while (i > 0) {
    const pair = (s.charCodeAt(i - 1) & 0xfc00) === 0xdc00 && i >= 2 && (s.charCodeAt(i - 2) & 0xfc00) === 0xd800;
    used += pair ? 4 : utf8Len(s.charCodeAt(i - 1));
    if (used > bytes) break;
    i -= pair ? 2 : 1;
  }
  return i;
}

const byteLength = (s: string) => Buffer.byteLength(s, 'utf8');

/** What truncation reads of a text: its first and last windowBytes, and the whole when it was held. */
interface Windows {
  head: string;
  tail: string;
  bytes: number;
  whole: string | null;
}

interface Side {
  /** Where the kept head ends / the kept tail starts, in its window. */
  offset: number;
  tokens: number;
}

/**
 * The longest prefix (or suffix) of `s` of at most `budget` tokens, found by tokenizing a growing
 * end of it: the first `budget` tokens are mapped back to a character boundary and counted again,
 * as a prefix tokenized alone can differ from the start of the whole's tokens.
 */
function side(s: string, budget: number, fromEnd: boolean): Side {
  if (budget <= 0) return { offset: fromEnd ? s.length : 0, tokens: 0 };
  const cut = (text: string, bytes: number) => (fromEnd ? charsForTailBytes(text, bytes) : charsForHeadBytes(text, bytes));
  for (let bytes = 4 * budget; ; ) {
    const at = cut(s, bytes);
    const part = fromEnd ? s.slice(at) : s.slice(0, at);
    const tokens = encode(part);
    if (tokens.length <= budget) {
      if (part.length === s.length) return { offset: fromEnd ? 0 : s.length, tokens: tokens.length };
      // Grown by the bytes per token seen so far (runs of spaces take 128 per token).
      bytes = Math.max(2 * bytes, Math.ceil((1.1 * bytes * budget) / Math.max(1, tokens.length)));
      continue;
    }
    for (let take = budget; take > 0; ) {
      const k = cut(part, bytesOfTokens(fromEnd ? tokens.subarray(tokens.length - take) : tokens.subarray(0, take)));
      const kept = fromEnd ? part.slice(k) : part.slice(0, k);
      const got = countTokens(kept);
      if (got <= budget) return { offset: fromEnd ? at + k : kept.length, tokens: got };
      take -= got - budget;
    }
    return { offset: fromEnd ? s.length : 0, tokens: 0 };
  }
}

/** Rough count for text never tokenized: o200k averages ~2.5 bytes per token on rollouts. */
function estimateFromBytes(bytes: number): number {
  return Math.max(1, Math.round(bytes / 2.5));
}

/**
 * Keeps at most `limit` tokens of `text`: about half from the head, half from the tail, with
 * `…N tokens truncated…` between them (N = removed tokens; estimated from the kept parts'
 * bytes per token when the middle is long, so that it is never tokenized). The result, marker
 * included, counts ≤ limit tokens. Below the marker's own size (e.g. 0) it is the marker alone.
 */
export function truncateToTokens(text: string, limit: number): Truncation {
  const window = windowBytes(Math.max(0, Math.floor(limit)));
  const head = text.slice(0, charsForHeadBytes(text, window));
  const tail = text.slice(charsForTailBytes(text, window));
  return truncateWindows({ head, tail, bytes: byteLength(text), whole: text }, limit);
}

function truncateWindows(text: Windows, limit: number): Truncation {
  const budget = Math.max(0, Math.floor(limit));
  const { whole } = text;
  const unchanged = (keptTokens: number | null): Truncation => ({ text: whole!, truncated: false, keptTokens, removedTokens: 0 });
  if (text.bytes <= budget) return unchanged(null);
  if (whole !== null && text.bytes <= WHOLE_COUNT_FACTOR * budget) {
    const { fits, tokens } = fitsInTokens(whole, budget);
    if (fits) return unchanged(tokens);
  }
  // N ≤ bytes, so this marker has at least as many digits (and tokens) as the final one.
  const reserve = countTokens(truncationMarker(text.bytes));
  if (budget <= reserve) {
    const removed = whole !== null && whole.length <= EXACT_MIDDLE_LIMIT ? countTokens(whole) : estimateFromBytes(text.bytes);
    if (whole !== null && removed <= budget) return unchanged(removed);
    return { text: truncationMarker(removed), truncated: true, keptTokens: 0, removedTokens: removed };
  }
  let keep = budget - reserve;
  for (let attempt = 0; attempt < 8 && keep >= 0; attempt++) {
    const head = side(text.head, Math.ceil(keep / 2), false);
    const tail = side(text.tail, Math.min(keep - head.tokens, Math.floor(keep / 2) + SHORTFALL_TOKENS), true);
    const headText = text.head.slice(0, head.offset);
    const tailText = text.tail.slice(tail.offset);
    const kept = head.tokens + tail.tokens;
    let removed: number | null = null;
    if (whole !== null) {
      const met = head.offset + tailText.length >= whole.length;
      const middle = met ? '' : whole.slice(head.offset, whole.length - tailText.length);
      if (met || middle.length <= EXACT_MIDDLE_LIMIT) {
        removed = countTokens(middle);
        // Head and tail met, or nearly: the whole may fit after all.
        if (kept + removed <= budget) {
          const all = countTokens(whole);
          if (all <= budget) return unchanged(all);
          if (met) {
            keep -= all - budget;
            continue;
          }
        }
      }
    }
    if (removed === null) {
      const keptBytes = byteLength(headText) + byteLength(tailText);
      const middleBytes = text.bytes - keptBytes;
      removed = kept === 0 ? estimateFromBytes(middleBytes) : Math.max(1, Math.round((middleBytes * kept) / keptBytes));
    }
    const out = headText + truncationMarker(removed) + tailText;
    // Joining can change the count at the two seams, so the output is counted again.
    const actual = countTokens(out);
    if (actual <= budget) return { text: out, truncated: true, keptTokens: kept, removedTokens: removed };
    keep -= actual - budget;
  }
  const removed = estimateFromBytes(text.bytes);
  return { text: truncationMarker(removed), truncated: true, keptTokens: 0, removedTokens: removed };
}

/**
 * Truncates a text that arrives in pieces exactly as truncateToTokens would truncate it whole,
 * holding only its first and last windowBytes(limit) bytes. Pieces must be well-formed UTF-16
 * (JSON.stringify output is).
 */
export class HeadTailWindow {
  private readonly window: number;
  private head: string[] = [];
  private headBytes = 0;
  private headFull = false;
  /** The text after the head, as the pieces that may still hold part of the tail, oldest first. */
  private ring: string[] = [];
  private ringSizes: number[] = [];
  private ringBytes = 0;
  private skippedBytes = 0;
  private retainedBytes = 0;

  constructor(private readonly limit: number) {
    this.window = windowBytes(Math.max(0, Math.floor(limit)));
  }

  append(piece: string): void {
    if (piece === '') return;
    let rest = piece;
    if (!this.headFull) {
      const bytes = byteLength(piece);
      if (this.headBytes + bytes <= this.window) {
        this.head.push(piece);
        this.headBytes += bytes;
        this.retainedBytes = Math.max(this.retainedBytes, this.headBytes);
        return;
      }
      const k = charsForHeadBytes(piece, this.window - this.headBytes);
      this.head = [this.head.join('') + piece.slice(0, k)];
      this.headBytes = byteLength(this.head[0]!);
      this.headFull = true;
      rest = piece.slice(k);
    }
    this.push(rest, byteLength(rest));
    // Whole pieces are dropped, never joined and cut: a 50 MB rollout then leaves no big strings behind
    // for the collector, only the pieces it was fed.
    while (this.ring.length > 1 && this.ringBytes - this.ringSizes[0]! >= this.window) this.skip(this.ringSizes.shift()!);
    // A piece far longer than needed (one huge item) is cut to what the tail may still use.
    const excess = this.ringBytes - this.window;
    if (excess > this.window / 4) {
      const first = this.ring[0]!;
      const kept = ` ${first.slice(charsForTailBytes(first, this.ringSizes[0]! - excess))}`.slice(1); // flat: frees the rest
      const keptBytes = byteLength(kept);
      this.skip(this.ringSizes[0]! - keptBytes);
      this.ring[0] = kept;
      this.ringSizes[0] = keptBytes;
    }
    this.retainedBytes = Math.max(this.retainedBytes, this.headBytes + this.ringBytes);
  }

  private push(text: string, bytes: number): void {
    this.ring.push(text);
    this.ringSizes.push(bytes);
    this.ringBytes += bytes;
  }

  private skip(bytes: number): void {
    if (this.ringSizes.length < this.ring.length) this.ring.shift(); // a whole piece went
    this.skippedBytes += bytes;
    this.ringBytes -= bytes;
  }

  /** Call once, after the last piece. */
  finish(): StreamedTruncation {
    const stats = { retainedBytes: this.retainedBytes, skippedBytes: this.skippedBytes };
    const head = this.head.join('');
    const ring = this.ring.join('');
    if (this.skippedBytes === 0) return { ...truncateToTokens(head + ring, this.limit), ...stats };
    const tail = ring.slice(charsForTailBytes(ring, this.window));
    const bytes = this.headBytes + this.skippedBytes + this.ringBytes;
    return { ...truncateWindows({ head, tail, bytes, whole: null }, this.limit), ...stats };
  }
}
