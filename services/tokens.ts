// Token counting with the o200k_base tokenizer (tiktoken, WASM).
//
// Three traps shape this file (see stack-notes §4):
// * tiktoken throws on special-token text such as `<|endoftext|>` unless told not to check, and
//   transcripts about tokenizers contain such text: we always encode with `encode_ordinary`.
// * tiktoken is quadratic on a long run that its pre-tokenizer does not split (100 KB of 'a'
//   takes ~12 s), so tiktoken only ever sees short text: pre-tokenizer pieces when counting, and
//   chunks ending where the pre-tokenizer splits anyway when truncating (chunk-scanner.ts). Only
//   a run of more than MAX_RUN characters with no such place gets a forced cut (which can only add
//   a token or so: a cut prevents merges).
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

/** Whether the encoder is loaded (its first use costs ~130 ms of this thread). */
export function tokenizerLoaded(): boolean {
  return encoder !== null;
}

export function encode(text: string): Uint32Array {
  // encode_ordinary: special-token text is plain text, as with encode(text, [], []), without the
  // JSON round trip of the two special-token lists that costs that call half its time.
  return enc().encode_ordinary(text);
}

/** UTF-8 length of what `tokens` decode to. */
export function bytesOfTokens(tokens: Uint32Array): number {
  return enc().decode(tokens).length;
}

/** Longest run without a pre-tokenizer split that we hand to tiktoken in one piece. */
export const MAX_RUN = 1024;

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

/**
 * Whether `text` (`bytes` long in UTF-8) has at most `budget` tokens, tokenizing only as much as
 * needed to tell. A token is at least one byte, and each UTF-16 unit read was at least one byte,
 * so once the pieces counted so far plus the bytes that may be left fit, the rest cannot overflow:
 * a text somewhat over the budget in bytes is settled after a fraction of it.
 */
export function fitsInTokens(text: string, bytes: number, budget: number): boolean {
  let total = 0;
  PIECE.lastIndex = 0;
  for (let m = PIECE.exec(text); m !== null; m = PIECE.exec(text)) {
    total += countPiece(m[0]);
    if (total > budget) return false;
    if (total + bytes - PIECE.lastIndex <= budget) return true;
  }
  return total <= budget;
}
