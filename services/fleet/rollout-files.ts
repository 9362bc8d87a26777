// A namespace's rollouts as files in a worker's home: content-addressed copies that the extraction reads like
// any rollout. A copy is written once (atomically) and never changes, so concurrent writers agree.
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, writeFileAtomic } from '../files/atomic-write.ts';

/** A rollout's file name as Codex writes it; nothing else is accepted as a name. */
export const ROLLOUT_FILE_NAME = /^rollout-[A-Za-z0-9._:-]{1,200}\.jsonl$/;

export function rolloutCopyPath(namespaceHome: string, sha256: string, fileName: string): string {
  return join(namespaceHome, 'rollouts', sha256, fileName);
}

/** Writes the copy unless it is there already; returns its path. */
export async function writeRolloutCopy(
  namespaceHome: string,
  sha256: string,
  fileName: string,
  content: Buffer,
): Promise<string> {
  const path = rolloutCopyPath(namespaceHome, sha256, fileName);
  const present = await access(path).then(
    () => true,
    () => false,
  );
  if (!present) {
    await ensureDir(join(namespaceHome, 'rollouts', sha256));
    await writeFileAtomic(path, content);
  }
  return path;
}
