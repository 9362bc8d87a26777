// Confines the agent's paths to the memory root: its input is untrusted, so no injected path or planted link may
// reach outside. Readers also check the opened descriptor (files/regular-file.ts): a directory can be swapped later.
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from '../files/regular-file.ts';
import { GIT_DIR as HISTORY_DIR } from '../memory-history/git-dir.ts';

/** A path the agent asked for lies (or could lie) outside the memory root. Shown to the model. */
export class SandboxViolation extends Error {
  constructor(
    readonly requested: string,
    readonly reason: string,
  ) {
    super(`path escapes the memory root: ${JSON.stringify(requested)} (${reason}); use a path relative to the memory root`);
    this.name = 'SandboxViolation';
  }
}

/** `requested` as an absolute path below the root's realpath with no symlinked directory; `"."` is the root.
 *  A final symlink is refused `forWrite`, else followed only when it resolves inside the root. */
export async function resolveInsideRoot(root: string, requested: string, options: { forWrite?: boolean } = {}): Promise<string> {
  const segments = lexicalSegments(requested);
  const rootReal = await realpath(root);
  let current = rootReal;
  for (const [index, segment] of segments.entries()) {
    current = path.join(current, segment);
    const info = await lstatOrNull(current);
    // The rest does not exist yet, so it holds no link.
    if (info === null) return path.join(current, ...segments.slice(index + 1));
    if (!info.isSymbolicLink()) continue;
    if (index < segments.length - 1) throw new SandboxViolation(requested, 'a directory on the path is a symlink');
    if (options.forWrite) throw new SandboxViolation(requested, 'writing through a symlink is not allowed');
    const target = await realpath(current).catch(() => {
      throw new SandboxViolation(requested, 'it is a dangling symlink or a symlink loop');
    });
    if (!isInside(rootReal, target)) throw new SandboxViolation(requested, 'a symlink on the path points outside the root');
    return target;
  }
  return current;
}

function lexicalSegments(requested: string): string[] {
  if (typeof requested !== 'string') throw new SandboxViolation(String(requested), 'the path must be a string');
  if (requested.trim() === '') throw new SandboxViolation(requested, 'the path is empty');
  if (requested.includes('\0')) throw new SandboxViolation(requested, 'the path contains a NUL byte');
  if (requested.includes('\\')) throw new SandboxViolation(requested, 'backslashes are not allowed; use "/"');
  if (path.isAbsolute(requested) || /^[A-Za-z]:/.test(requested)) {
    throw new SandboxViolation(requested, 'absolute paths are not allowed');
  }
  if (requested.startsWith('~')) throw new SandboxViolation(requested, 'home-relative paths are not allowed');
  const segments = requested.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new SandboxViolation(requested, '".." segments are not allowed');
  // The folder's history is the pipeline's: an agent that rewrote it could erase the person's baseline or edits.
  if (segments.some((s) => s.toLowerCase() === HISTORY_DIR)) {
    throw new SandboxViolation(requested, 'the history folder .git is not part of memory');
  }
  return segments;
}

/** lstat, or null when the path (or a parent) does not exist. */
export async function lstatOrNull(p: string) {
  try {
    return await lstat(p);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw error;
  }
}
