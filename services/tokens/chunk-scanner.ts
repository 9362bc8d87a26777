// Where a text can be cut into chunks without changing its o200k token count: places where the
// pre-tokenizer always starts a new piece. Truncation counts and cuts chunk by chunk.
import { MAX_RUN } from './tokens.ts';

/** Preferred chunk size: large enough to keep WASM call overhead low. */
export const TARGET_CHUNK = 4096;

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
 * Whether o200k's pre-tokenizer always starts a new piece before a character of class `cur`
 * (`prev` before it, `next` after it, if there is a next):
 *  - after a line break that is followed by non-whitespace;
 *  - before the last space of a whitespace run that is followed by non-whitespace;
 *  - between a letter and a digit (either order);
 *  - between a letter/digit and punctuation other than an apostrophe (contractions like 's).
 */
function splitsBefore(prev: Cls, cur: Cls, next: Cls, hasNext: boolean): boolean {
  if (prev === Cls.Newline && !isSpace(cur)) return true;
  if (cur === Cls.Space && hasNext && !isSpace(next)) return true;
  if ((prev === Cls.Letter && cur === Cls.Digit) || (prev === Cls.Digit && cur === Cls.Letter)) return true;
  return (prev === Cls.Letter || prev === Cls.Digit) && cur === Cls.Other;
}

/**
 * Finds chunk ends in a text that arrives in pieces, with the same result as scanning it whole
 * (a piece must not end between the two halves of a surrogate pair). A chunk ends at the first
 * place where the pre-tokenizer splits once it is TARGET_CHUNK long; a run of more than MAX_RUN
 * characters with no such place gets a forced cut.
 */
export class ChunkScanner {
  /** Characters seen. */
  private n = 0;
  private chunkStart = 0;
  /** Position after the last split place (for forced cuts). */
  private runStart = 0;
  /** Classes of characters n-2 and n-1: position n-1 is decided once the next class is known. */
  private prev: Cls = Cls.Other;
  private cur: Cls = Cls.Other;
  private curIsLowSurrogate = false;

  constructor(private readonly onEnd: (end: number) => void) {}

  push(piece: string): void {
    for (let j = 0; j < piece.length; j++) {
      const code = piece.charCodeAt(j);
      const next = classOf(code, piece, j);
      if (this.n >= 2) this.decide(next, true);
      this.prev = this.cur;
      this.cur = next;
      this.curIsLowSurrogate = (code & 0xfc00) === 0xdc00;
      this.n++;
    }
  }

  /** Ends the text: reports the last chunk end (the text's length). */
  finish(): void {
    if (this.n >= 2) this.decide(Cls.Other, false);
    if (this.n > 0) this.onEnd(this.n);
  }

  /** Whether a chunk may end before position n-1. */
  private decide(next: Cls, hasNext: boolean): void {
    const i = this.n - 1;
    let boundary = splitsBefore(this.prev, this.cur, next, hasNext);
    // Forced cut in a long unsplittable run, never before a low surrogate.
    if (!boundary && i - this.runStart >= MAX_RUN && !this.curIsLowSurrogate) boundary = true;
    if (boundary) {
      if (i - this.chunkStart >= TARGET_CHUNK) {
        this.onEnd(i);
        this.chunkStart = i;
      }
      this.runStart = i;
    }
  }
}

/** Chunk end offsets of a whole text (exclusive; the last is text.length). */
export function chunkEnds(text: string): number[] {
  const ends: number[] = [];
  const scanner = new ChunkScanner((end) => ends.push(end));
  scanner.push(text);
  scanner.finish();
  return ends;
}

