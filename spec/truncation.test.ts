// Rollout text is cut to the model's budget by real o200k token count, keeping its beginning and
// its end, and the cut never breaks a character or blows the budget.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { countTokens, truncateToTokens } from '../services/tokens.ts';
import { readdirSync } from 'node:fs';
import { REAL_ROLLOUTS, V169_ROLLOUTS } from './support/shared.ts';

// An independent count straight from tiktoken, to check that ours is the real one.
const tiktoken = createRequire(import.meta.url)('tiktoken') as typeof import('tiktoken');
const enc = tiktoken.get_encoding('o200k_base');
const realCount = (text: string) => enc.encode(text, [], []).length;

const MARKER = /…(\d+) tokens truncated…/;
const BROKEN_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const ROLLOUT = `${REAL_ROLLOUTS}/codemie-ai__codemie-code__rollout-2026-05-11T13-28-45-019e1695-0522-7c83-8b39-0dd379793f80.jsonl`;

describe('token counts', () => {
  it('match tiktoken exactly on a real rollout', async () => {
    const text = await readFile(ROLLOUT, 'utf8');
    expect(countTokens(text)).toBe(realCount(text));
  });

  // Ours split pieces with V8's regex engine and cache each piece's count; any difference from
  // tiktoken's own pre-tokenizer would show as a different total.
  it.each([REAL_ROLLOUTS, V169_ROLLOUTS].flatMap((dir) => readdirSync(dir).filter((f) => f.endsWith('.jsonl')).map((f) => `${dir}/${f}`)))(
    'match tiktoken exactly on the shared rollout %s',
    async (file) => {
      const text = await readFile(file, 'utf8');
      expect(countTokens(text)).toBe(realCount(text));
    },
  );

  it.each([
    ['Unicode white space (NEL, NBSP, ideographic space) and a BOM', 'a\u0085 b\u00a0\u00a0c\u3000\u3000d \ufeff\ufeffe\n\u0085\n a\ufeff\ufeffb 1\ufeff\ufeff2 !!\ufeff\ufeff!!'],
    ['contractions in any case, with the long s', "it's IT'S we'RE they'Ve I'M you'LL he'D ca\u017f'\u017f it'\u017f"],
    ['marks, titlecase and scripts', 'e\u0301te\u0301 \u01c5ungla Ǆ日本語のテキスト Привет мир مرحبا 👩‍👩‍👧 ½ ⅷ 12345678'],
    ['line breaks and runs of spaces', 'x\r\n\r\n   \n\t\t y  \n\n  z\r  /\n//\n'],
    ['lone surrogates', 'a\ud800b \udc00 c\ud83d'],
  ])('match tiktoken exactly on %s', (_name, text) => {
    expect(countTokens(text)).toBe(realCount(text));
  });

  it('treat special-token text like <|endoftext|> as plain text instead of throwing', () => {
    expect(countTokens('x <|endoftext|> y')).toBe(9);
    expect(() => truncateToTokens('<|endoftext|><|im_start|> '.repeat(500), 50)).not.toThrow();
  });
});

describe('truncateToTokens', () => {
  it('returns a text that fits unchanged', () => {
    const r = truncateToTokens('hello world', 100);
    // Fits by byte length: returned as is, without tokenizing.
    expect(r).toEqual({ text: 'hello world', truncated: false, keptTokens: null, removedTokens: 0 });
  });

  it.each([1_000, 10_000, 50_000])('keeps a real rollout within %i tokens, marker included, keeping head and tail', async (limit) => {
    const text = await readFile(ROLLOUT, 'utf8');
    const r = truncateToTokens(text, limit);
    expect(r.truncated).toBe(true);
    expect(countTokens(r.text)).toBeLessThanOrEqual(limit);
    expect(realCount(r.text)).toBeLessThanOrEqual(limit);
    expect(realCount(r.text)).toBeGreaterThan(limit * 0.98); // the budget is used, not wasted
    const [head, tail] = r.text.split(MARKER.exec(r.text)![0]);
    expect(text.startsWith(head!)).toBe(true);
    expect(text.endsWith(tail!)).toBe(true);
    expect(Math.abs(realCount(head!) - realCount(tail!))).toBeLessThanOrEqual(limit * 0.02);
  });

  it('reports the exact removed count in the marker when the middle is short', () => {
    const text = Array.from({ length: 1500 }, (_, i) => `line ${i}: the quick brown fox`).join('\n');
    const r = truncateToTokens(text, 500);
    const n = Number(MARKER.exec(r.text)![1]);
    expect(n).toBe(r.removedTokens);
    expect(Math.abs((r.keptTokens ?? 0) + r.removedTokens - realCount(text))).toBeLessThanOrEqual(2);
  });

  it('estimates the removed count of a long middle from the kept parts', async () => {
    const text = await readFile(`${REAL_ROLLOUTS}/AcidicSoil__codex-session-viewer__example.jsonl`, 'utf8');
    const r = truncateToTokens(text, 20_000);
    const real = realCount(text);
    expect(realCount(r.text)).toBeLessThanOrEqual(20_000);
    expect(Math.abs((r.keptTokens ?? 0) + r.removedTokens - real) / real).toBeLessThan(0.25);
  });

  it('with a zero budget returns only the marker', () => {
    expect(truncateToTokens('abcdef', 0).text).toBe(`…${countTokens('abcdef')} tokens truncated…`);
    expect(truncateToTokens('', 0)).toMatchObject({ text: '', truncated: false });
  });

  it('never splits an emoji or other multi-byte character', () => {
    const text = '👍🏽 héllo wörld 𠀀𠀁 e\u0301 日本語テキスト 👨‍👩‍👧 '.repeat(3000);
    for (const limit of [7, 33, 100, 777, 5_000]) {
      const r = truncateToTokens(text, limit);
      expect(r.text).not.toMatch(BROKEN_SURROGATE);
      expect(r.text).not.toContain('\uFFFD');
      expect(realCount(r.text)).toBeLessThanOrEqual(limit);
    }
  });

  it('handles 200 KB without whitespace quickly', () => {
    countTokens('warm up the encoder');
    const text = 'a'.repeat(200_000);
    const start = performance.now();
    const r = truncateToTokens(text, 1_000);
    const n = countTokens(text);
    const elapsed = performance.now() - start;
    expect(elapsed).toBeLessThan(2_000);
    expect(countTokens(r.text)).toBeLessThanOrEqual(1_000);
    expect(r.text.startsWith('aaaa')).toBe(true);
    expect(r.text.endsWith('aaaa')).toBe(true);
    expect(n).toBeGreaterThan(20_000);
  });
});
