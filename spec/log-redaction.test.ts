// The log file is a boundary too: a secret in any logged field never reaches memories.log.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileLogger } from '../services/logger.ts';

describe('the log file', () => {
  it('holds no secret from a message, a field or an error', async () => {
    const home = await mkdtemp(join(tmpdir(), 'memories-log-'));
    const key = `sk-proj-${'Zq3xW9'.repeat(8)}`;
    const password = 'Hx7vQ2pLm9Tz4Rb8';
    const log = fileLogger(home);
    log.info({ reason: `401 for key ${key}` }, `calling with ${key}`);
    log.error({ err: new Error(`connect postgres://app:${password}@db.internal/app failed`) }, 'store failed');
    const text = await readFile(join(home, 'log', 'memories.log'), 'utf8');
    const lines = text.trim().split('\n');
    expect(lines).toHaveLength(2);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(text).not.toContain(key);
    expect(text).not.toContain(password);
    expect(text).toContain('[REDACTED_SECRET]');
  });
});
