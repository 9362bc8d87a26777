// Code that names a secret without holding one survives redaction unchanged: every string of the
// shared rollouts (whose 19 redactions were all false positives once) and a benign-code corpus.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { redactedJson, redactSecrets } from '../services/redaction/redact.ts';
import { BENIGN_CODE, CONTEXTS } from './support/secret-corpus.ts';
import { REAL_ROLLOUTS, V169_ROLLOUTS } from './support/shared.ts';

const files = [REAL_ROLLOUTS, V169_ROLLOUTS].flatMap((dir) =>
  readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .map((f) => `${dir}/${f}`),
);

describe('the shared rollouts', () => {
  it.each(files)('every string of %s is left as it is', (file) => {
    const strings: string[] = [];
    const walk = (value: unknown): void => {
      if (typeof value === 'string') strings.push(value);
      else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
    };
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      strings.push(line);
      try {
        walk(JSON.parse(line));
      } catch {
        // a blank or torn line is still checked whole
      }
    }
    expect(strings.filter((text) => redactSecrets(text) !== text)).toEqual([]);
  });
});

describe('benign code', () => {
  it.each(BENIGN_CODE)('%j is left as it is, alone and in every rollout context', (code) => {
    expect(redactSecrets(code)).toBe(code);
    for (const make of Object.values(CONTEXTS)) expect(redactedJson(make(code))).toBe(JSON.stringify(make(code)));
  });

  it.each([
    ['a word holding sk-', 'ri' + 'sk-assessmentframeworkchecklist'],
    ['a property access', 'apiKey: params.litellmApiKey'],
    ['an environment lookup', 'apiKey: process.env.CODEMIE_API_KEY'],
    ['a ternary', 'litellmApiKey: isLiteLLM ? key : undefined'],
    ['a placeholder', "apiKey: 'proxy-handled'"],
  ])('%s is not a secret', (_name, text) => {
    expect(redactSecrets(text)).toBe(text);
  });
});
