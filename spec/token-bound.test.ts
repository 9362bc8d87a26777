// Whether a text fits its token budget is first asked of an upper bound that needs no tokenizer.
// The bound must never be below the real count (or a rollout would be sent over its budget), and
// must be tight enough to settle the usual rollout a little over its budget in bytes.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { ASCII_PAIR_TOKEN } from '../services/tokens/o200k-pairs.ts';
import { asciiPairTokens, countTokens, fitsInTokens, piecesTokenBound, pieceTokenBound, quickTokenBound, tokenBound } from '../services/tokens/tokens.ts';
import { REAL_ROLLOUTS, V169_ROLLOUTS } from './support/shared.ts';

// Real counts straight from tiktoken, independent of our piece splitting and cache.
const tiktoken = createRequire(import.meta.url)('tiktoken') as typeof import('tiktoken');
const enc = tiktoken.get_encoding('o200k_base');
const realCount = (text: string) => enc.encode_ordinary(text).length;

const SHARED = [REAL_ROLLOUTS, V169_ROLLOUTS].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => `${dir}/${f}`),
);

describe('the pair table (services/o200k-pairs.ts)', () => {
  it("marks exactly the two-byte ASCII strings that are one o200k token (regenerate it with scripts/gen-o200k-pairs.ts)", () => {
    const truth = asciiPairTokens();
    const wrong: string[] = [];
    for (let i = 0; i < truth.length; i++) {
      if (truth[i] !== ASCII_PAIR_TOKEN[i]) wrong.push(JSON.stringify(String.fromCharCode(i >> 7, i & 127)));
    }
    expect(wrong).toEqual([]);
    expect(truth.reduce((n, bit) => n + bit, 0)).toBeGreaterThan(3000);
  });
});

// Both bounds: the sum over pre-tokenizer pieces and the quick one-pass bound that uses only
// letter pairs sure to share a piece.
const BOUNDS = [
  ['piece bound', (text: string) => piecesTokenBound(text)],
  ['quick bound', quickTokenBound],
] as const;

/** Deterministic pseudo-random text over `alphabet`. */
function randomTexts(alphabet: string[], rounds: number, seed: number): string[] {
  const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
  const out: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const length = 1 + Math.floor(random() * (round % 100 === 0 ? 3000 : 40));
    let text = '';
    for (let i = 0; i < length; i++) text += alphabet[Math.floor(random() * alphabet.length)];
    out.push(text);
  }
  return out;
}

describe.each(BOUNDS)('the %s', (_name, bound) => {
  it.each(SHARED)('is never below the real count of any line of %s, nor of the whole file', (file) => {
    const text = readFileSync(file, 'utf8');
    for (const line of text.split('\n')) {
      const real = realCount(line);
      const got = bound(line);
      if (got < real) expect.fail(`bound ${got} < real ${real} for line ${JSON.stringify(line.slice(0, 200))}`);
    }
    expect(bound(text)).toBeGreaterThanOrEqual(realCount(text));
  });

  it('is never below the real count of any string of up to five letters of both cases, apostrophes and spaces', () => {
    // Short strings are where a bound is tight: "aB" is two pieces, so two tokens, though "aB" is a token.
    const alphabet = ['a', 'e', 'r', 's', 'B', 'R', 'S', "'", ' '];
    let texts = [''];
    for (let length = 1; length <= 5; length++) {
      texts = texts.flatMap((t) => alphabet.map((c) => t + c));
      for (const text of texts) {
        const real = realCount(text);
        const got = bound(text);
        if (got < real) expect.fail(`bound ${got} < real ${real} for ${JSON.stringify(text)}`);
      }
    }
  });

  it.each([
    // Letters, digits, punctuation, spaces and line breaks, control bytes, and non-ASCII of two,
    // three and four UTF-8 bytes (a lone surrogate among them), in short pieces and long runs.
    ['mixed text', [...'aeiouxqzAEQZ0179 \t\n\r{}[]":,.\\/-_\'`~\u0000\u0007\u007f', 'é', 'ß', '中', '文', '😀', '\ud800', '\u0085', '\u00a0']],
    // Where letter pieces end: case changes, contractions in both cases, combining marks, other scripts.
    ['letters, cases and contractions', [...'aeinrstlmdvAEINRSTLMDV\'\' ', 'ſ', '\u0301', 'é', 'É', '中', 'ǅ', 'ʰ', "'s", "'S", "'re", "'VE", "'ll", "'d", "'t", "'M"]],
  ])('is never below the real count of random %s', (_kind, alphabet) => {
    for (const text of randomTexts(alphabet, 20_000, 0x5eed)) {
      const real = realCount(text);
      const got = bound(text);
      if (got < real) expect.fail(`bound ${got} < real ${real} for ${JSON.stringify(text)}`);
    }
  });
});

describe('the token bounds', () => {
  it('keep at most ⌊(2n+1)/3⌋ tokens of n bytes that all pair, and one per byte that pairs with nothing', () => {
    // "e" and "n" alternate: "en" and "ne" are both tokens.
    for (let n = 1; n <= 12; n++) {
      expect(pieceTokenBound('en'.repeat(n).slice(0, n))).toBe(Math.floor((2 * n + 1) / 3));
      expect(quickTokenBound('en'.repeat(n).slice(0, n))).toBe(Math.floor((2 * n + 1) / 3));
    }
    expect(pieceTokenBound('中文')).toBe(6);
    expect(pieceTokenBound('😀')).toBe(4);
    // Split pieces: lower case then upper case, and after a contraction.
    expect(quickTokenBound('eN')).toBe(2);
    expect(quickTokenBound("'ren")).toBe(4);
  });

  it.each(SHARED)('bound the real rollout %s at under 0.7 (pieces) and 0.85 (quick) tokens per byte', (file) => {
    const text = readFileSync(file, 'utf8');
    const bytes = Buffer.byteLength(text);
    expect(piecesTokenBound(text)).toBeLessThan(0.7 * bytes);
    expect(quickTokenBound(text)).toBeLessThan(0.85 * bytes);
  });

  it('stops early, above the budget, once the budget is exceeded', () => {
    const text = readFileSync(SHARED[0]!, 'utf8');
    const full = piecesTokenBound(text);
    const early = piecesTokenBound(text, 1_000);
    expect(early).toBeGreaterThan(1_000);
    expect(early).toBeLessThan(full / 10);
  });
});

describe('fitsInTokens with the bound', () => {
  it.each(SHARED)('agrees with the exact count of %s at budgets around it', (file) => {
    const text = readFileSync(file, 'utf8');
    const bytes = Buffer.byteLength(text);
    const exact = countTokens(text);
    for (const budget of [exact - 1, exact, Math.ceil(tokenBound(text)), Math.floor(exact * 1.5)]) {
      expect(fitsInTokens(text, bytes, budget), `budget ${budget}, exact ${exact}`).toBe(exact <= budget);
    }
  });
});
