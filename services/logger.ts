// Structured logs (pino). The CLI writes JSON lines to $CODEX_HOME/log/memories.log; an embedding
// host gets a silent logger unless it passes its own.
import { chmodSync, fchmodSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { redactSecrets } from './redaction/redact.ts';

export type Logger = Pick<pino.Logger, 'debug' | 'info' | 'warn' | 'error'>;

export const silentLogger: Logger = pino({ enabled: false });

export function fileLogger(codexHome: string, level = 'info'): Logger {
  const dir = join(codexHome, 'log');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Modes given at creation do not fix a folder or file that already exists with looser ones.
  chmodSync(dir, 0o700);
  const fd = openSync(join(dir, 'memories.log'), 'a', 0o600);
  fchmodSync(fd, 0o600);
  // Synchronous writes: a crash or kill never loses the lines that explain it. Every line is redacted
  // as written, whatever field (an error's message, a path, a reason) carries the secret.
  return pino({ level, hooks: { streamWrite: redactSecrets } }, pino.destination({ fd, sync: true }));
}
