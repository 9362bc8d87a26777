// Structured logs (pino). The CLI writes JSON lines to $CODEX_HOME/log/memories.log; an embedding
// host gets a silent logger unless it passes its own.
import { chmodSync, fchmodSync, fstatSync, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { redactSecrets } from './redaction/redact.ts';

export type Logger = Pick<pino.Logger, 'debug' | 'info' | 'warn' | 'error'>;

export const silentLogger: Logger = pino({ enabled: false });

export function fileLogger(codexHome: string, level = 'info'): Logger {
  const dir = join(codexHome, 'log');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Modes given at creation do not fix a folder or file that already exists with looser ones. Only group and other
  // access is taken: a folder the person made read-only stays so.
  const dirMode = statSync(dir).mode & 0o777;
  if ((dirMode & 0o077) !== 0) chmodSync(dir, dirMode & 0o700);
  const fd = openSync(join(dir, 'memories.log'), 'a', 0o600);
  const fileMode = fstatSync(fd).mode & 0o777;
  if ((fileMode & ~0o600) !== 0) fchmodSync(fd, fileMode & 0o600);
  // Synchronous writes: a crash or kill never loses the lines that explain it. Every line is redacted
  // as written, whatever field (an error's message, a path, a reason) carries the secret.
  return pino({ level, hooks: { streamWrite: redactSecrets } }, pino.destination({ fd, sync: true }));
}
