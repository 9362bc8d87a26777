// Every rule family (vendor tokens and the generic named, flag, URL, header and block shapes)
// is removed wherever a rollout holds it: user text, tool output, function-call arguments.
import { describe, expect, it } from 'vitest';
import { redactedJson } from '../services/redaction/redact.ts';
import { TOKEN_FAMILIES } from '../services/redaction/token-families.ts';
import { CONTEXTS, FAMILY_SAMPLES, GENERIC_SAMPLES, generatedSecrets, leaked } from './support/secret-corpus.ts';

const SECRETS = generatedSecrets(6);

it('every vendor token family has a sample maker, and every sample maker a family', () => {
  expect(Object.keys(FAMILY_SAMPLES).sort()).toEqual(TOKEN_FAMILIES.map(([family]) => family).sort());
});

describe.each([...Object.keys(FAMILY_SAMPLES), ...Object.keys(GENERIC_SAMPLES)])('%s', (family) => {
  it.each(Object.keys(CONTEXTS))('leaks none of 6 random values in %s', (context) => {
    const leaks: string[] = [];
    for (const [name, planted] of SECRETS) {
      if (name !== family) continue;
      expect(planted.needles.length).toBeGreaterThan(0);
      const out = redactedJson(CONTEXTS[context]!(planted.text));
      leaks.push(...leaked(planted, out));
      expect(out).toContain('[REDACTED_SECRET]');
    }
    expect(leaks).toEqual([]);
  });
});
