// Token counting with the o200k_base tokenizer (tiktoken, WASM).
// Two traps shape this file (see stack-notes §4):
// * tiktoken throws on special-token text such as `<|endoftext|>` unless told not to check, and
//   transcripts about tokenizers contain such text: we always encode with `encode_ordinary`.
// * Byte-pair merging is quadratic in the length of one pre-tokenizer piece (20 KB of 'a' takes
//   half a second), so a run the pre-tokenizer cannot split is encoded in cuts of MAX_RUN
//   characters. A cut only prevents merges: it can add a token or so, never hide one.
import { createRequire } from 'node:module';
import type { Tiktoken } from 'tiktoken';

/** Longest run without a pre-tokenizer split that tiktoken gets in one piece. */
export const MAX_RUN = 256;

/** Runs of letters (with marks), of punctuation, or of white space: o200k pieces that can grow without bound. */
const LONG_RUN = new RegExp(String.raw`[\p{L}\p{M}]{${MAX_RUN + 1},}|[^\s\p{L}\p{N}]{${MAX_RUN + 1},}|\s{${MAX_RUN + 1},}`, 'gu');

let encoder: Tiktoken | null = null;

// Loading costs a few hundred ms and ~85 MB, so the immutable encoder is made once, on first use.
function enc(): Tiktoken {
  if (encoder === null) {
    const tiktoken = createRequire(import.meta.url)('tiktoken') as typeof import('tiktoken');
    encoder = tiktoken.get_encoding('o200k_base');
  }
  return encoder;
}

/** Whether the encoder is loaded. */
export function tokenizerLoaded(): boolean {
  return encoder !== null;
}

/**
 * Whether `text` may hold a LONG_RUN match: over MAX_RUN letters, non-letter non-digits, or white space in a row,
 * where a non-ASCII character may continue any run. A loop over char codes is far faster than the Unicode
 * regex, which then runs only on the rare text that has such a run.
 */
function mayHaveLongRun(text: string): boolean {
  let letters = 0;
  let others = 0;
  let spaces = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const wide = code >= 0x80;
    const letter = wide || ((code | 0x20) >= 0x61 && (code | 0x20) <= 0x7a);
    letters = letter ? letters + 1 : 0;
    others = wide || (!letter && (code < 0x30 || code > 0x39)) ? others + 1 : 0;
    spaces = wide || code <= 0x20 ? spaces + 1 : 0;
    if (letters > MAX_RUN || others > MAX_RUN || spaces > MAX_RUN) return true;
  }
  return false;
}

/** `text` cut where tiktoken may take each part whole: long runs in MAX_RUN cuts, never inside a surrogate pair. */
export function tokenizerParts(text: string): string[] {
  if (!mayHaveLongRun(text)) return [text];
  const out: string[] = [];
  let at = 0;
  LONG_RUN.lastIndex = 0;
  for (let m = LONG_RUN.exec(text); m !== null; m = LONG_RUN.exec(text)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    const end = m.index + m[0].length;
    for (let start = m.index; start < end; ) {
      let cut = Math.min(end, start + MAX_RUN);
      if (cut < end && (text.charCodeAt(cut) & 0xfc00) === 0xdc00) cut -= 1;
      out.push(text.slice(start, cut));
      start = cut;
    }
    at = end;
  }
  if (at < text.length || out.length === 0) out.push(text.slice(at));
  return out;
}

export function encode(text: string): Uint32Array {
  const encoded = tokenizerParts(text).map((part) => enc().encode_ordinary(part));
  if (encoded.length === 1) return encoded[0]!;
  const out = new Uint32Array(encoded.reduce((n, e) => n + e.length, 0));
  let at = 0;
  for (const e of encoded) {
    out.set(e, at);
    at += e.length;
  }
  return out;
}

/** Number of o200k_base tokens in `text` (special-token text counts as plain text). */
export function countTokens(text: string): number {
  let total = 0;
  for (const part of tokenizerParts(text)) total += enc().encode_ordinary(part).length;
  return total;
}

/**
 * Where a text may be cut so that its two sides' counts add up to the whole's: right after an ASCII letter
 * followed by a space. No o200k pre-tokenizer piece spans that point (a letter piece ends at the space, which
 * starts the next piece), and tiktoken merges only within a piece.
 */
const PIECE_BOUNDARY = /[A-Za-z] /g;
/** Characters counted at a time when deciding whether a text fits. */
const FIT_CHUNK = 8 * 1024;

/**
 * Whether `text` has at most `budget` tokens, tokenizing only as much of it as the answer needs: a token is at
 * least one byte, so the counted chunks plus the bytes of the rest bound the whole. `tokens` is the exact count
 * when the whole text was counted, else null.
 */
export function fitsInTokens(text: string, budget: number): { fits: boolean; tokens: number | null } {
  let counted = 0;
  let restBytes = Buffer.byteLength(text, 'utf8');
  for (let at = 0; at < text.length; ) {
    if (counted + restBytes <= budget) return { fits: true, tokens: null };
    if (counted > budget) return { fits: false, tokens: null };
    PIECE_BOUNDARY.lastIndex = at + FIT_CHUNK;
    const end = PIECE_BOUNDARY.exec(text)?.index;
    const chunk = text.slice(at, end === undefined ? text.length : end + 1);
    counted += countTokens(chunk);
    restBytes -= Buffer.byteLength(chunk, 'utf8');
    at += chunk.length;
  }
  return { fits: counted <= budget, tokens: counted };
}

/** UTF-8 length of what `tokens` decode to. */
export function bytesOfTokens(tokens: Uint32Array): number {
  return enc().decode(tokens).length;
}
