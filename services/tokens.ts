// Token counting and head+tail truncation with the o200k_base tokenizer (tiktoken, WASM).
//
// Three traps shape this file (see stack-notes §4):
// * tiktoken throws on special-token text such as `<|endoftext|>` unless told not to check, and
//   transcripts about tokenizers contain such text: we always encode with `encode(text, [], [])`.
// * tiktoken is quadratic on a long run that its pre-tokenizer does not split (100 KB of 'a'
//   takes ~12 s), so tiktoken only ever sees short text: pre-tokenizer pieces when counting, and
//   chunks ending where the pre-tokenizer splits anyway when truncating. Only a run of more than
//   MAX_RUN characters with no such place gets a forced cut (which can only add a token or so: a
//   cut prevents merges).
// * Loading the encoder costs ~250 ms and ~85 MB, so it is created on first use, once per process.
//
// Counting is the hot path of phase 1 (every rollout longer in bytes than its budget is counted
// whole), and tiktoken's own pre-tokenizer regex is most of its cost. So texts are split into
// pieces here, with o200k's pattern run by V8's regex engine, and tiktoken only sees each distinct
// piece once per process: BPE never crosses a piece, so a text's count is the sum of its pieces'
// counts, and pieces repeat (words, indentation, JSON keys, paths).
import { createRequire } from 'node:module';
import type { Tiktoken } from 'tiktoken';

let encoder: Tiktoken | null = null;

function enc(): Tiktoken {
  if (encoder === null) {
    // require() on first use keeps the WASM out of processes that never count tokens.
    const require = createRequire(import.meta.url);
    const tiktoken = require('tiktoken') as typeof import('tiktoken');
    encoder = tiktoken.get_encoding('o200k_base');
  }
  return encoder;
}

function encode(text: string): Uint32Array {
  return enc().encode(text, [], []);
}

/** Longest run without a pre-tokenizer split that we hand to tiktoken in one piece. */
const MAX_RUN = 1024;
/** Preferred chunk size: large enough to keep WASM call overhead low. */
const TARGET_CHUNK = 4096;

// Character classes, as far as the o200k pre-tokenizer's piece rules need them.
type Cls = number;
const Cls = {
  Space: 0, // whitespace other than line breaks
  Newline: 1,
  Letter: 2,
  Digit: 3,
  Mark: 4, // combining marks join letters: never cut next to one
  Apostrophe: 5, // contractions ('s, 't, …) join letters
  Other: 6, // punctuation and symbols
} as const;

const LETTER = /^\p{L}/u;
const DIGIT = /^\p{N}/u;
const MARK = /^\p{M}/u;
const SPACE = /^\s/u;

function classOf(code: number, text: string, i: number): Cls {
  if (code < 128) {
    if (code === 10 || code === 13) return Cls.Newline;
    if (code === 32 || (code >= 9 && code <= 12)) return Cls.Space;
    if ((code >= 65 && code <= 90) || (code >= 97 && code <= 122)) return Cls.Letter;
    if (code >= 48 && code <= 57) return Cls.Digit;
    if (code === 39) return Cls.Apostrophe;
    return Cls.Other;
  }
  // Both halves of a surrogate pair get the class of the whole code point, so no rule below can
  // cut between them (equal classes never form a boundary); a lone surrogate is 'Other'.
  let ch: string;
  if ((code & 0xfc00) === 0xdc00 && i > 0 && (text.charCodeAt(i - 1) & 0xfc00) === 0xd800) ch = text.slice(i - 1, i + 1);
  else ch = text.slice(i, (code & 0xfc00) === 0xd800 ? i + 2 : i + 1);
  if (LETTER.test(ch)) return Cls.Letter;
  if (DIGIT.test(ch)) return Cls.Digit;
  if (MARK.test(ch)) return Cls.Mark;
  if (SPACE.test(ch)) return Cls.Space;
  return Cls.Other;
}

function isSpace(c: Cls): boolean {
  return c === Cls.Space || c === Cls.Newline;
}

/**
 * Chunk end offsets (exclusive; the last is text.length). A boundary before index i is taken
 * only where o200k's pre-tokenizer always starts a new piece:
 *  - after a line break that is followed by non-whitespace;
 *  - before the last space of a whitespace run that is followed by non-whitespace;
 *  - between a letter and a digit (either order);
 *  - between a letter/digit and punctuation other than an apostrophe (contractions like 's).
 */
export function chunkEnds(text: string): number[] {
  const ends: number[] = [];
  const n = text.length;
  if (n === 0) return ends;
  let chunkStart = 0;
  let runStart = 0; // position after the last boundary (for forced cuts)
  let prev = classOf(text.charCodeAt(0), text, 0);
  let cur = n > 1 ? classOf(text.charCodeAt(1), text, 1) : Cls.Other;
  for (let i = 1; i < n; i++) {
    const next = i + 1 < n ? classOf(text.charCodeAt(i + 1), text, i + 1) : Cls.Other;
    let boundary = false;
    if (prev === Cls.Newline && !isSpace(cur)) boundary = true;
    else if (cur === Cls.Space && !isSpace(next) && i + 1 < n) boundary = true;
    else if ((prev === Cls.Letter && cur === Cls.Digit) || (prev === Cls.Digit && cur === Cls.Letter)) boundary = true;
    else if ((prev === Cls.Letter || prev === Cls.Digit) && cur === Cls.Other) boundary = true;
    if (!boundary && i - runStart >= MAX_RUN) {
      // Forced cut in a long unsplittable run; step back off a low surrogate.
      const code = text.charCodeAt(i);
      if (!(code >= 0xdc00 && code <= 0xdfff)) boundary = true;
    }
    if (boundary) {
      if (i - chunkStart >= TARGET_CHUNK) {
        ends.push(i);
        chunkStart = i;
      }
      runStart = i;
    }
    prev = cur;
    cur = next;
  }
  ends.push(n);
  return ends;
}

/**
 * o200k_base's pre-tokenizer pattern. Node 20's V8 has no inline `(?i:…)`, so the contractions
 * spell out both cases (with U+017F ſ, which Rust's `(?i)` folds to s); and JavaScript's `\s` is
 * not Unicode White_Space (it has U+FEFF and lacks U+0085), so the property is named.
 * spec/truncation.test.ts checks the counts against tiktoken's on every shared rollout.
 */
const WS = String.raw`\p{White_Space}`;
const CONTRACTION = "(?:'[sS\u017F]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])?";
const UPPER = String.raw`[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`;
const LOWER = String.raw`[\p{Ll}\p{Lm}\p{Lo}\p{M}]`;
const PIECE = new RegExp(
  [
    String.raw`[^\r\n\p{L}\p{N}]?${UPPER}*${LOWER}+${CONTRACTION}`,
    String.raw`[^\r\n\p{L}\p{N}]?${UPPER}+${LOWER}*${CONTRACTION}`,
    String.raw`\p{N}{1,3}`,
    String.raw` ?[^${WS}\p{L}\p{N}]+[\r\n/]*`,
    String.raw`${WS}*[\r\n]+`,
    String.raw`${WS}+(?!\P{White_Space})`,
    String.raw`${WS}+`,
  ].join('|'),
  'gu',
);

/** Pieces longer than this are not cached: they rarely repeat (hashes, base64). */
const MAX_CACHED_PIECE = 64;
/** Bound on the cache (~10 MB); it starts over when full. */
const MAX_CACHED_PIECES = 100_000;
const pieceCounts = new Map<string, number>();

function countPiece(piece: string): number {
  if (piece.length > MAX_CACHED_PIECE) return piece.length > MAX_RUN ? countLongRun(piece) : encode(piece).length;
  let n = pieceCounts.get(piece);
  if (n === undefined) {
    n = encode(piece).length;
    if (pieceCounts.size >= MAX_CACHED_PIECES) pieceCounts.clear();
    pieceCounts.set(piece, n);
  }
  return n;
}

/** A piece longer than MAX_RUN is counted in MAX_RUN-sized cuts (never inside a surrogate pair). */
function countLongRun(piece: string): number {
  let total = 0;
  for (let start = 0; start < piece.length; ) {
    let end = Math.min(piece.length, start + MAX_RUN);
    if (end < piece.length && (piece.charCodeAt(end) & 0xfc00) === 0xdc00) end -= 1;
    total += encode(piece.slice(start, end)).length;
    start = end;
  }
  return total;
}

/** Number of o200k_base tokens in `text` (special-token text counts as plain text). */
export function countTokens(text: string): number {
  let total = 0;
  PIECE.lastIndex = 0;
  for (let m = PIECE.exec(text); m !== null; m = PIECE.exec(text)) total += countPiece(m[0]);
  return total;
}

export interface Truncation {
  text: string;
  truncated: boolean;
  /** Tokens kept; null when the text fits by byte length alone and was never tokenized. */
  keptTokens: number | null;
  removedTokens: number;
}

export function truncationMarker(removed: number): string {
  return `\u2026${removed} tokens truncated\u2026`;
}

/** Texts up to this many times the budget (in UTF-16 units) are counted whole before cutting. */
const WHOLE_COUNT_FACTOR = 4;

/** Middles longer than this (UTF-16 units) are not tokenized; their count is estimated. */
const EXACT_MIDDLE_LIMIT = 64 * 1024;

function utf8Len(code: number): number {
  if (code < 0x80) return 1;
  if (code < 0x800) return 2;
  return 3; // BMP, and each half of a surrogate pair counts 2 of the pair's 4 bytes below
}

/** Largest char index k such that UTF-8(s.slice(0, k)) ≤ bytes, never splitting a surrogate pair. */
function charsForHeadBytes(s: string, bytes: number): number {
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

function bytesOfTokens(tokens: Uint32Array): number {
  return enc().decode(tokens).length;
}

interface Side {
  /** Offset into the text where the kept head ends / the kept tail starts. */
  offset: number;
  tokens: number;
}

/**
 * Keeps the tokens of a text from one side. Whole chunks are kept while they fit; the chunk that
 * does not fit is cut at a token boundary mapped back to a character boundary, then re-counted
 * (a re-tokenized prefix can differ from the prefix of the tokens).
 */
class Sides {
  private readonly counts = new Map<number, number>();
  constructor(
    private readonly text: string,
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
  const budget = Math.max(0, Math.floor(limit));
  const totalBytes = Buffer.byteLength(text, 'utf8');
  // Every token is at least one byte, so a text with no more bytes than the limit fits.
  if (totalBytes <= budget) {
    // A token is at least one byte, so this text fits without loading the tokenizer.
    return { text, truncated: false, keptTokens: null, removedTokens: 0 };
  }
  // The marker's digit count never exceeds that of the byte length (N ≤ bytes), and digits
  // tokenize in groups of three, so this reserve covers the final marker.
  const reserve = countTokens(truncationMarker(totalBytes));
  if (budget <= reserve) {
    const removed = text.length > EXACT_MIDDLE_LIMIT ? estimateAll(text) : countTokens(text);
    if (removed <= budget) return { text, truncated: false, keptTokens: removed, removedTokens: 0 };
    return { text: truncationMarker(removed), truncated: true, keptTokens: 0, removedTokens: removed };
  }

  // A text not far over the budget in bytes usually fits in tokens: one count settles it.
  if (text.length <= WHOLE_COUNT_FACTOR * budget) {
    const all = countTokens(text);
    if (all <= budget) return { text, truncated: false, keptTokens: all, removedTokens: 0 };
  }

  const ends = chunkEnds(text);
  const sides = new Sides(text, ends);
  let keep = budget - reserve;
  for (let attempt = 0; attempt < 8 && keep >= 0; attempt++) {
    const head = sides.head(Math.ceil(keep / 2), text.length);
    if (head.offset === text.length) {
      // The whole text fits in the head budget alone.
      return { text, truncated: false, keptTokens: head.tokens, removedTokens: 0 };
    }
    const tail = sides.tail(keep - head.tokens, head.offset);
    if (tail.offset <= head.offset) {
      return { text, truncated: false, keptTokens: head.tokens + tail.tokens, removedTokens: 0 };
    }
    const middle = text.slice(head.offset, tail.offset);
    const kept = head.tokens + tail.tokens;
    let removed: number;
    if (middle.length <= EXACT_MIDDLE_LIMIT) {
      removed = countTokens(middle);
      // Head and tail met (up to one chunk): the whole text may fit after all.
      if (kept + removed <= budget) {
        const all = countTokens(text);
        if (all <= budget) return { text, truncated: false, keptTokens: all, removedTokens: 0 };
      }
    } else {
      const middleBytes = Buffer.byteLength(middle, 'utf8');
      const keptBytes = totalBytes - middleBytes;
      removed = kept === 0 ? estimateAll(middle) : Math.max(1, Math.round((middleBytes * kept) / keptBytes));
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
  const removed = estimateAll(text);
  return { text: truncationMarker(removed), truncated: true, keptTokens: 0, removedTokens: removed };
}

/** Rough count for text we choose not to tokenize: o200k averages ~2.5 bytes/token on rollouts. */
function estimateAll(text: string): number {
  return Math.max(1, Math.round(Buffer.byteLength(text, 'utf8') / 2.5));
}
