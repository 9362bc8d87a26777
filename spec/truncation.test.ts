// Rollout text is cut to the model's budget by real o200k token count, keeping its beginning and
// its end, and the cut never breaks a character or blows the budget.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { countTokens, fitsInTokens, MAX_RUN, tokenizerParts } from '../services/tokens/tokens.ts';
import { HeadTailWindow, truncateToTokens } from '../services/tokens/truncation.ts';
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

  // Long runs are cut before tiktoken sees them (tokenizerParts); any count they changed would show as a
  // different total. The fit check counts in chunks, so its cut points must not change the total either.
  it.each(
    [REAL_ROLLOUTS, V169_ROLLOUTS].flatMap((dir) =>
      readdirSync(dir)
        .filter((f) => f.endsWith('.jsonl'))
        .map((f) => `${dir}/${f}`),
    ),
  )('match tiktoken exactly on the shared rollout %s', async (file) => {
    const text = await readFile(file, 'utf8');
    const real = realCount(text);
    expect(countTokens(text)).toBe(real);
    expect(fitsInTokens(text, real)).toEqual({ fits: true, tokens: real });
    expect(fitsInTokens(text, real - 1).fits).toBe(false);
  });

  it.each([
    [
      'Unicode white space (NEL, NBSP, ideographic space) and a BOM',
      'a\u0085 b\u00a0\u00a0c\u3000\u3000d \ufeff\ufeffe\n\u0085\n a\ufeff\ufeffb 1\ufeff\ufeff2 !!\ufeff\ufeff!!',
    ],
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

describe('whether a text fits', () => {
  it('agrees with the whole count at budgets around it, for ASCII and multi-byte text', async () => {
    const rollout = (await readFile(ROLLOUT, 'utf8')).slice(0, 200_000);
    const wide = '日本語のテキスト 👍🏽 héllo '.repeat(2_000);
    for (const text of [rollout, wide]) {
      const bytes = Buffer.byteLength(text, 'utf8');
      const real = realCount(text);
      for (const budget of [Math.floor(real / 2), real - 1, real, real + 1, Math.floor((real + bytes) / 2), bytes - 1, bytes]) {
        expect(truncateToTokens(text, budget).truncated, `budget ${budget}, real ${real}`).toBe(real > budget);
      }
    }
  });
});

describe('truncateToTokens', () => {
  it('returns a text that fits unchanged', () => {
    const r = truncateToTokens('hello world', 100);
    // Fits by byte length: returned as is, without tokenizing.
    expect(r).toEqual({ text: 'hello world', truncated: false, keptTokens: null, removedTokens: 0 });
  });

  it.each([1_000, 10_000, 50_000])(
    'keeps a real rollout within %i tokens, marker included, keeping head and tail',
    async (limit) => {
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
    },
  );

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

  // tiktoken is quadratic in a pre-tokenizer piece's length, so a long run reaches it only in MAX_RUN cuts.
  it.each([
    ['punctuation', '=-+'],
    ['punctuation and control characters', '-\u0001('],
    ['letters with marks', 'xe\u0301'],
    ['letters beyond ASCII', 'éß字'],
    ['white space', '  \t'],
  ])('gives tiktoken a long run of %s in cuts', (_kind, unit) => {
    const run = unit.repeat(MAX_RUN);
    const cuts = [0, 1, 2].map((i) => run.slice(i * MAX_RUN, (i + 1) * MAX_RUN));
    expect(tokenizerParts(`x1${run}1x`)).toEqual(['x1', ...cuts, '1x']);
    expect(tokenizerParts(`x1${run.slice(0, MAX_RUN)}1x`)).toEqual([`x1${run.slice(0, MAX_RUN)}1x`]);
  });

  // tiktoken is quadratic on long runs without a break: a regression would not finish within the test's timeout.
  it('handles 200 KB without whitespace', () => {
    const text = 'a'.repeat(200_000);
    const r = truncateToTokens(text, 1_000);
    const n = countTokens(text);
    expect(countTokens(r.text)).toBeLessThanOrEqual(1_000);
    expect(r.text.startsWith('aaaa')).toBe(true);
    expect(r.text.endsWith('aaaa')).toBe(true);
    expect(n).toBeGreaterThan(20_000);
  });
});

// Deterministic pseudo-random text, so that a failure can be replayed.
function generator(seed: number) {
  let x = seed;
  const next = () => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x / 0x7fffffff;
  };
  return { next, pick: <T>(list: T[]): T => list[Math.floor(next() * list.length)]! };
}

const WORDS = [
  'alpha',
  'Beta',
  ' ',
  '  ',
  '\n',
  '\r\n',
  '日本語',
  '👍🏽',
  'e\u0301',
  '{"a":1}',
  '\\n',
  '0123456789',
  'x'.repeat(3000),
  ' '.repeat(700),
  '\t\t',
  'Привет',
  '<|endoftext|>',
  "it's",
];

/** Serialized tool outputs: prose-like mixes, runs of spaces (128-byte tokens), runs with no split place, emoji and CJK. */
function outputs(kind: 'mixed' | 'spaces' | 'letters' | 'wide', count: number, size: number, seed: number): string[] {
  const g = generator(seed);
  return Array.from({ length: count }, (_, i) => {
    let text = '';
    if (kind === 'spaces') text = ' '.repeat(size);
    else if (kind === 'letters') text = 'a'.repeat(size);
    else if (kind === 'wide') while (text.length < size) text += '😀日';
    else while (text.length < size) text += g.pick(WORDS) + (g.next() < 0.5 ? ' ' : '');
    return JSON.stringify({ type: 'function_call_output', call_id: `c${i}`, output: text });
  });
}

/** Feeds `[part,part,…]` to a window the way the phase-1 request builder does. */
function streamed(parts: string[], limit: number) {
  const window = new HeadTailWindow(limit);
  window.append('[');
  parts.forEach((part, i) => {
    if (i > 0) window.append(',');
    window.append(part);
  });
  window.append(']');
  return window.finish();
}

describe('HeadTailWindow', () => {
  it.each([
    ['prose-like tool outputs', outputs('mixed', 150, 20_000, 11)],
    ['runs of spaces (the longest tokens)', outputs('spaces', 100, 30_000, 0)],
    ['runs with no place to split', outputs('letters', 60, 50_000, 0)],
    ['emoji and CJK', outputs('wide', 100, 20_000, 0)],
    ['one huge item', outputs('mixed', 1, 4_000_000, 12)],
    [
      'a huge item between small ones',
      [...outputs('mixed', 20, 2_000, 13), ...outputs('wide', 1, 2_000_000, 0), ...outputs('mixed', 20, 2_000, 14)],
    ],
  ])('truncates %s fed piece by piece exactly as truncateToTokens does the whole text', (_name, parts) => {
    const whole = `[${parts.join(',')}]`;
    for (const limit of [0, 500, 5_000]) {
      const r = streamed(parts, limit);
      expect(r.skippedBytes).toBeGreaterThan(0); // the windowed path, not the whole text
      expect(r.retainedBytes).toBeLessThan(Buffer.byteLength(whole) / 2);
      const { retainedBytes: _r, skippedBytes: _s, ...truncation } = r;
      expect(truncation).toEqual(truncateToTokens(whole, limit));
    }
  });

  it('returns exactly what truncateToTokens does when the text is short enough to keep whole', async () => {
    const text = await readFile(ROLLOUT, 'utf8');
    const lines = text.split('\n').filter((line) => line !== '');
    for (const limit of [20_000, 85_120, 200_000]) {
      const r = streamed(lines, limit);
      expect(r.skippedBytes).toBe(0);
      const { retainedBytes: _r, skippedBytes: _s, ...truncation } = r;
      expect(truncation).toEqual(truncateToTokens(`[${lines.join(',')}]`, limit));
    }
  });

  it('holds a bounded window of a 30 MB text, keeps its ends and stays within the limit', () => {
    const g = generator(3);
    const window = new HeadTailWindow(20_000);
    window.append('HEAD-SENTINEL ');
    for (let i = 0; i < 240; i++)
      window.append(
        `${Array.from({ length: 1_500 }, () => g.pick(['build', 'step', 'ok', '0x1f3a', '日本', ' ', '\n'])).join(' ')}\n`.repeat(
          20,
        ),
      );
    window.append(' TAIL-SENTINEL');
    const r = window.finish();
    expect(r.skippedBytes).toBeGreaterThan(25_000_000);
    // Head and tail windows: about ⌈limit/2⌉ × 128 bytes each, plus slack.
    expect(r.retainedBytes).toBeLessThan(4_000_000);
    expect(r.truncated).toBe(true);
    expect(r.text.startsWith('HEAD-SENTINEL ')).toBe(true);
    expect(r.text.endsWith(' TAIL-SENTINEL')).toBe(true);
    expect(r.text).not.toMatch(BROKEN_SURROGATE);
    expect(realCount(r.text)).toBeLessThanOrEqual(20_000);
    expect(realCount(r.text)).toBeGreaterThan(19_000);
  });
});
