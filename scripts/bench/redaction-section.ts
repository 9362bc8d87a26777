// The redaction figures: leaks over the generated secret corpus (every family × random values ×
// rollout contexts) and false positives over the shared rollouts and the benign-code corpus.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { redactedJson, redactSecrets } from '../../services/redaction/redact.ts';
import { BENIGN_CODE, CONTEXTS, generatedSecrets, leaked } from '../../spec/support/secret-corpus.ts';

const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared');

export interface RedactionFigures {
  planted: number;
  leaks: number;
  stringsChecked: number;
  falsePositives: number;
}

function sharedStrings(): string[] {
  const strings: string[] = [];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') strings.push(value);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  for (const dir of ['real-rollouts', 'codex-0.169-rollouts'].map((d) => join(SHARED, d))) {
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        try {
          walk(JSON.parse(line));
        } catch {
          strings.push(line);
        }
      }
    }
  }
  return strings;
}

export async function redactionSection(): Promise<RedactionFigures> {
  let planted = 0;
  let leaks = 0;
  for (const [, secret] of generatedSecrets(10)) {
    for (const make of Object.values(CONTEXTS)) {
      planted++;
      if (leaked(secret, redactedJson(make(secret.text))).length > 0) leaks++;
    }
  }
  const strings = [...sharedStrings(), ...BENIGN_CODE];
  const falsePositives = strings.filter((text) => redactSecrets(text) !== text).length;
  return { planted, leaks, stringsChecked: strings.length, falsePositives };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await redactionSection();
  console.log(
    `redaction: ${figures.leaks} leaks of ${figures.planted} planted secrets; ${figures.falsePositives} false positives over ${figures.stringsChecked} benign strings`,
  );
}
