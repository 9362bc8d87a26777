// The state and log folders are made private (0700 folders, 0600 files) by taking group and other access away; a
// folder the person made stricter, read-only, stays as they left it.
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileLogger } from '../services/logger.ts';
import { createLowdbStore } from '../services/store/lowdb-store.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
});
afterEach(() => cleanup());

const modeOf = async (path: string) => ((await stat(path)).mode & 0o777).toString(8);

describe('private modes', () => {
  it('the store takes group and other access from its folder and files, and keeps a read-only folder read-only', async () => {
    const state = join(home, 'memories_state');
    await createLowdbStore({ dir: state }).enqueueGlobalConsolidation(1); // writes jobs.json
    await chmod(join(state, 'jobs.json'), 0o644);
    await chmod(state, 0o755);
    await createLowdbStore({ dir: state }).status();
    expect([await modeOf(state), await modeOf(join(state, 'jobs.json'))]).toEqual(['700', '600']);
    await chmod(state, 0o500);
    await createLowdbStore({ dir: state }).status();
    expect(await modeOf(state)).toBe('500');
  });

  it('the log folder loses group and other access, and a read-only one stays read-only', async () => {
    const log = join(home, 'log');
    await mkdir(log);
    await chmod(log, 0o755);
    fileLogger(home);
    expect(await modeOf(log)).toBe('700');
    expect(await modeOf(join(log, 'memories.log'))).toBe('600');
    await chmod(log, 0o500);
    fileLogger(home); // as root the log file can still be opened; the folder's mode is what is checked
    expect(await modeOf(log)).toBe('500');
  });
});
