// A rollout item is redacted string by string: every string inside a JSON value, and the serialized item the same
// whether or not the quick pre-check let it skip the walk.
import { describe, expect, it } from 'vitest';
import { redactDeep, redactedJson } from '../services/redaction/redact.ts';

const R = '[REDACTED_SECRET]';

describe('redactDeep', () => {
  it('redacts every string of a JSON value and returns a new value', () => {
    const value = {
      type: 'function_call',
      arguments: '{"cmd":"export GH=ghp_0123456789abcdefghijklmnopqrstuvwxyzAB"}',
      output: ['ok', { text: 'Bearer abcdefghijklmnopqrst' }],
      n: 3,
      flag: true,
      none: null,
    };
    const copy = structuredClone(value);
    const out = redactDeep(value);
    expect(value).toEqual(copy);
    expect(out).toEqual({
      type: 'function_call',
      arguments: `{"cmd":"export GH=${R}"}`,
      output: ['ok', { text: `Bearer ${R}` }],
      n: 3,
      flag: true,
      none: null,
    });
  });
});

describe('redactedJson', () => {
  // It skips the walk when the serialized item holds no rule literal; the text must always be
  // the one a full walk gives.
  it.each([
    ['no secret at all', { type: 'message', content: [{ type: 'output_text', text: 'all tests pass' }] }],
    [
      'a secret deep inside',
      {
        type: 'function_call_output',
        output: { lines: ['ok', 'export OPENAI_API_KEY=sk-proj-AbC_dEf-0123456789abcdefghijKLMNOPqrst'] },
      },
    ],
    ['a secret word only in a key', { token_count: 12, note: 'no credentials here' }],
    [
      'a JSON-escaped secret',
      {
        arguments: JSON.stringify({
          cmd: 'curl -H "Authorization: Bearer abcDEF123456ghiJKL789"\nsk-ant-api03-abc_DEF-ghi_jklmnopqrstuvwxyz0123456789-AAAA',
        }),
      },
    ],
  ])('%s', (_name, item) => {
    expect(redactedJson(item)).toBe(JSON.stringify(redactDeep(item)));
  });

  it("redacts each command's password in a multi-line tool call, whose lines are joined by escaped newlines", () => {
    const cmd = 'mongosh --eval 1\nredis-cli -a R3disStoat38Pw ping\nmongosh -u a -p Mg1Pw0rd77';
    const out = redactedJson({ type: 'function_call', arguments: JSON.stringify({ cmd }) });
    expect(out).not.toContain('R3disStoat38Pw');
    expect(out).not.toContain('Mg1Pw0rd77');
    expect(out).toContain(`redis-cli -a ${R} ping`);
  });

  it('removes a secret that only the walk finds', () => {
    const out = redactedJson({ a: [{ b: 'key ghp_0123456789abcdefghijklmnopqrstuvwxyzAB end' }] });
    expect(out).toBe(JSON.stringify({ a: [{ b: `key ${R} end` }] }));
  });
});
