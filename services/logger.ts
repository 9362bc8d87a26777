// Structured logs (pino). The CLI writes JSON lines to $CODEX_HOME/log/memories.log; an embedding
// host gets a silent logger unless it passes its own.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';

export type Logger = Pick<pino.Logger, 'debug' | 'info' | 'warn' | 'error'>;

export const silentLogger: Logger = pino({ enabled: false });

export function fileLogger(codexHome: string, level = 'info'): Logger {
  const dir = join(codexHome, 'log');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Synchronous writes: a crash or kill never loses the lines that explain it.
  return pino({ level }, pino.destination({ dest: join(dir, 'memories.log'), sync: true, mode: 0o600 }));
}
