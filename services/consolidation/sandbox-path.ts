// Confines every path the consolidation agent names to the memory root: its input derives from
// untrusted transcripts, so a prompt-injected "read ~/.ssh/id_rsa" or a planted link must never
// reach outside. Every component is checked here; readers also verify the descriptor they opened
// (files/regular-file.ts), because a directory can be swapped for a symlink after this check.
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';
import { isInside } from '../files/regular-file.ts';

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

/**
 * Resolves `requested` (relative to `root`) to an absolute path below the root's realpath in which
 * no directory is a symlink. A final symlink is refused `forWrite` (create, replace or delete), and
 * otherwise followed only when it resolves inside the root. `"."` names the root itself.
 */
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
