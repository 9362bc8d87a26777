// A namespace's rollouts as files in a worker's home: content-addressed copies that the extraction reads like any
// rollout. They are a cache of the database (which holds the content durably), so a copy is written without fsync:
// temp file and rename, so a reader never sees half of one, and a copy of the wrong size is written again.
import { randomUUID } from 'node:crypto';
import { mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** A rollout's file name as Codex writes it; nothing else is accepted as a name. */
export const ROLLOUT_FILE_NAME = /^rollout-[A-Za-z0-9._:-]{1,200}\.jsonl$/;

export function rolloutCopyPath(namespaceHome: string, sha256: string, fileName: string): string {
  return join(namespaceHome, 'rollouts', sha256, fileName);
}

/** Writes the copy unless a whole one is there already; returns its path. */
export async function writeRolloutCopy(
  namespaceHome: string,
  sha256: string,
  fileName: string,
  content: Buffer,
): Promise<string> {
  const path = rolloutCopyPath(namespaceHome, sha256, fileName);
  const present = await stat(path).catch(() => null);
  if (present?.size === content.length) return path;
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${randomUUID()}.tmp`;
  try {
    await writeFile(tmp, content, { mode: 0o600 });
    await rename(tmp, path);
  } catch (error) {
    await unlink(tmp).catch(() => undefined);
    throw error;
  }
  return path;
}
