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
//
// Most texts that need counting at all are not far over their budget in bytes, and loading the
// encoder alone costs more than the rest of phase 1's work on a rollout. So whether a text fits
// is first asked of an upper bound that needs no encoder (tokenBound): byte-pair merging stops
// only when no two neighbouring tokens of a piece form a token, and most pairs of ASCII bytes are
// tokens (o200k-pairs.ts), so a piece keeps at most about two tokens per three bytes.
import { createRequire } from 'node:module';
import type { Tiktoken } from 'tiktoken';
import { ASCII_PAIR_TOKEN } from './o200k-pairs.ts';

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
function countLongRun(piece: string, count: (cut: string) => number = (cut) => encode(cut).length): number {
  let total = 0;
  for (let start = 0; start < piece.length; ) {
    let end = Math.min(piece.length, start + MAX_RUN);
    if (end < piece.length && (piece.charCodeAt(end) & 0xfc00) === 0xdc00) end -= 1;
    total += count(piece.slice(start, end));
    start = end;
  }
  return total;
}

/** out[a * 128 + b] is 1 when the two ASCII bytes a, b are a single token (for o200k-pairs.ts). */
export function asciiPairTokens(): Uint8Array {
  const out = new Uint8Array(128 * 128);
  for (let a = 0; a < 128; a++) for (let b = 0; b < 128; b++) out[a * 128 + b] = encode(String.fromCharCode(a, b)).length === 1 ? 1 : 0;
  return out;
}

/**
 * The most tokens byte-pair merging can leave of `piece` (one pre-tokenizer piece of at most
 * MAX_RUN characters), without the encoder. Merging ends only when no two neighbouring tokens
 * concatenate to a token; so where bytes i and i+1 form a pair token, they are never both
 * single-byte tokens.
 */
export function pieceTokenBound(piece: string): number {
  return mostTokens(piece, true);
}

/**
 * An upper bound on the tokens of any text, in one pass and without the pre-tokenizer: as
 * pieceTokenBound, but only pairs sure to share a piece are used. Those are two ASCII letters,
 * unless lower case is followed by upper case (`aB` is split) or they follow an apostrophe by one
 * or two characters (a contraction, `'s` or `'re`, ends a piece).
 */
export function quickTokenBound(text: string): number {
  return mostTokens(text, false);
}

const isLetter = (c: number) => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
const isLower = (c: number) => c >= 0x61 && c <= 0x7a;
const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;
const APOSTROPHE = 0x27;

/** ASCII_PAIR_TOKEN narrowed to the pairs quickTokenBound may use: letters, not lower then upper. */
const QUICK_PAIR_TOKEN: Uint8Array = ASCII_PAIR_TOKEN.map((token, i) => {
  const a = i >> 7;
  const b = i & 127;
  return token === 1 && isLetter(a) && isLetter(b) && !(isLower(a) && isUpper(b)) ? 1 : 0;
});

/** "Impossible" in the DP below: a small integer, so that V8 keeps every state a small integer. */
const NEVER = -(1 << 29);

/**
 * The most tokens `text` can be left in, over the cut positions between its bytes (both ends
 * cut): a pair token between two bytes forbids cutting both before, between and after them. A
 * dynamic programme finds the most cuts allowed: `best<p><c>` is the most cuts so far with the
 * previous / current position cut (1) or not (0). Bytes of non-ASCII characters pair with nothing
 * here, so each may be a token. `onePiece`: the whole text is one pre-tokenizer piece.
 */
function mostTokens(text: string, onePiece: boolean): number {
  const pairs = onePiece ? ASCII_PAIR_TOKEN : QUICK_PAIR_TOKEN;
  // Before the first byte: its start is cut, and it follows no byte it could pair with.
  let best00 = NEVER;
  let best01 = 0;
  let best10 = NEVER;
  let best11 = NEVER;
  let previous = -1; // the last byte when ASCII, else -1
  let sinceApostrophe = 3; // bytes since the last apostrophe, up to 3
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const code = text.charCodeAt(i);
    let bytes = 1;
    let byte = code;
    if (code >= 0x80) {
      byte = -1;
      bytes = code < 0x800 ? 2 : 3;
      if ((code & 0xfc00) === 0xd800 && i + 1 < n && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        bytes = 4;
        i++;
      }
    }
    for (let b = 0; b < bytes; b++) {
      // Not within two bytes after an apostrophe: a contraction ('s, 're) ends a piece there.
      const paired = previous >= 0 && byte >= 0 && pairs[(previous << 7) | byte] === 1 && (onePiece || sinceApostrophe > 2);
      const uncut = best00 > best10 ? best00 : best10; // the position before this byte not cut
      const cut = best01 > best11 ? best01 : best11;
      // Cutting after this byte too makes it a single-byte token; after a single-byte token
      // that it pairs with, that is not allowed.
      best11 = (paired ? best01 : cut) + 1;
      best10 = cut;
      best01 = uncut + 1;
      best00 = uncut;
      sinceApostrophe = previous === APOSTROPHE ? 1 : sinceApostrophe < 3 ? sinceApostrophe + 1 : 3;
      previous = byte;
    }
  }
  return best01 > best11 ? best01 : best11;
}

/** Number of o200k_base tokens in `text` (special-token text counts as plain text). */
export function countTokens(text: string): number {
  let total = 0;
  PIECE.lastIndex = 0;
  for (let m = PIECE.exec(text); m !== null; m = PIECE.exec(text)) total += countPiece(m[0]);
  return total;
}

/**
 * An upper bound on the tokens of `text` that needs no encoder: quickTokenBound when that is
 * within `budget` (a millisecond per 100 KB), else piecesTokenBound (tighter, but its
 * pre-tokenizer pass takes ~6 ms per 100 KB).
 */
export function tokenBound(text: string, budget = Infinity): number {
  const quick = quickTokenBound(text);
  return quick <= budget ? quick : piecesTokenBound(text, budget);
}

/**
 * The sum over the pre-tokenizer pieces of `text`, each taken at its count if counted before,
 * else at pieceTokenBound. Stops early, above `budget`, once it is exceeded.
 */
export function piecesTokenBound(text: string, budget = Infinity): number {
  let total = 0;
  PIECE.lastIndex = 0;
  for (let m = PIECE.exec(text); m !== null && total <= budget; m = PIECE.exec(text)) {
    const piece = m[0];
    total += pieceCounts.get(piece) ?? (piece.length > MAX_RUN ? countLongRun(piece, pieceTokenBound) : pieceTokenBound(piece));
  }
  return total;
}

/**
 * Whether `text` (`bytes` long in UTF-8) has at most `budget` tokens: by tokenBound if that
 * settles it, else tokenizing only as much as needed to tell. A token is at least one byte, and
 * each UTF-16 unit read was at least one byte, so once the pieces counted so far plus the bytes
 * that may be left fit, the rest cannot overflow.
 */
export function fitsInTokens(text: string, bytes: number, budget: number): boolean {
  if (tokenBound(text, budget) <= budget) return true;
  let total = 0;
  PIECE.lastIndex = 0;
  for (let m = PIECE.exec(text); m !== null; m = PIECE.exec(text)) {
    total += countPiece(m[0]);
    if (total > budget) return false;
    if (total + bytes - PIECE.lastIndex <= budget) return true;
  }
  return total <= budget;
}
