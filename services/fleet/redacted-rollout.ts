// A rollout as it leaves its host: every string of every JSON line through the secret redactor (lines that are
// not JSON as text), so no credential reaches the fleet. Deterministic: two hosts with the same rollout upload
// the same bytes, hence the same content hash.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { redactedJson, redactSecrets } from '../redaction/redact.ts';

export interface RedactedRollout {
  content: Buffer;
  sha256: string;
  /** session_meta's cli_version, when the rollout records it. */
  codexVersion: string | null;
}

export async function redactedRollout(path: string): Promise<RedactedRollout> {
  const text = await readFile(path, 'utf8');
  let codexVersion: string | null = null;
  const lines = text.split('\n').map((line) => {
    if (line.trim() === '') return line;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      return redactSecrets(line);
    }
    const payload = (value as { type?: unknown; payload?: { cli_version?: unknown } } | null)?.payload;
    if (codexVersion === null && typeof payload?.cli_version === 'string') codexVersion = payload.cli_version;
    return redactedJson(value);
  });
  const content = Buffer.from(lines.join('\n'), 'utf8');
  return { content, sha256: createHash('sha256').update(content).digest('hex'), codexVersion };
}
