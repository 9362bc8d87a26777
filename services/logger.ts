// Structured logs (pino). The CLI writes JSON lines to $CODEX_HOME/log/memories.log; an embedding
// host gets a silent logger unless it passes its own.
import { chmodSync, fchmodSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { narrowedMode } from './files/narrowed-mode.ts';
import { redactSecrets } from './redaction/redact.ts';

export type Logger = Pick<pino.Logger, 'debug' | 'info' | 'warn' | 'error'>;

export const silentLogger: Logger = pino({ enabled: false });

export function fileLogger(codexHome: string, level = 'info'): Logger {
  const dir = join(codexHome, 'log');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Modes given at creation do not fix a folder or file that already exists with looser ones.
  const dirMode = narrowedMode(statSync(dir).mode, 0o700);
  if (dirMode !== null) chmodSync(dir, dirMode);
  const fd = openSync(join(dir, 'memories.log'), 'a', 0o600);
  const fileMode = narrowedMode(fstatSync(fd).mode, 0o600);
  if (fileMode !== null) fchmodSync(fd, fileMode);
  // Synchronous writes: a crash or kill never loses the lines that explain it. Every line is redacted
  // as written, whatever field (an error's message, a path, a reason) carries the secret.
  return pino({ level, hooks: { streamWrite: redactSecrets } }, pino.destination({ fd, sync: true }));
}
