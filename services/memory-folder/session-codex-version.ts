// The Codex version that wrote a home's newest session (session_meta.cli_version). With no [memories] version and no
// codex on PATH (a desktop or editor build keeps its own binary), it is the best evidence of which layout that Codex
// reads. Synchronous and small: the newest day folder's newest file, and its first line only.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { join } from 'node:path';

const FIRST_LINE_BYTES = 256 * 1024;

export function newestSessionCodexVersion(codexHome: string): string | null {
  try {
    let dir = join(codexHome, 'sessions');
    for (const folder of [/^\d{4}$/, /^\d{2}$/, /^\d{2}$/]) {
      const newest = readdirSync(dir)
        .filter((n) => folder.test(n))
        .sort()
        .at(-1);
      if (newest === undefined) return null;
      dir = join(dir, newest);
    }
    const file = readdirSync(dir)
      .filter((n) => /^rollout-.*\.jsonl$/.test(n))
      .sort()
      .at(-1);
    return file === undefined ? null : cliVersionOf(join(dir, file));
  } catch {
    return null; // no sessions folder, or one we cannot read: no evidence
  }
}

function cliVersionOf(path: string): string | null {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(FIRST_LINE_BYTES);
    const read = readSync(fd, buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, read).toString('utf8');
    const line = JSON.parse(text.slice(0, text.includes('\n') ? text.indexOf('\n') : text.length));
    const version = line?.payload?.cli_version;
    return typeof version === 'string' && version !== '' ? version : null;
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}
