// Confines every path the consolidation agent names to the memory root. The agent's input is
// derived from untrusted transcripts, so a prompt-injected "read ~/.ssh/id_rsa" or a symlink
// planted in the folder must never reach outside it. Lexical checks reject the obvious tricks;
// realpath checks catch symlinks that the lexical form cannot reveal.
import { lstat, realpath } from 'node:fs/promises';
import path from 'node:path';

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

export interface ResolveOptions {
  /**
   * The caller will create, replace or delete the target. Then no component of the path may be a
   * symlink at all, even one pointing inside: writes never follow links.
   */
  forWrite?: boolean;
}

/**
 * Resolves `requested` (relative to `root`) to an absolute path inside the root's realpath.
 * Existing targets come back fully resolved (no symlinks), so callers can open them with
 * O_NOFOLLOW. `"."` (or `"./"`) names the root itself; the empty string is refused.
 */
export async function resolveInsideRoot(root: string, requested: string, options: ResolveOptions = {}): Promise<string> {
  const segments = lexicalSegments(requested);
  const rootReal = await realpath(root);
  const lexical = path.join(rootReal, ...segments);

  if (options.forWrite) await refuseSymlinkComponents(rootReal, segments, requested);

  // Find the deepest ancestor that exists; its realpath decides where the target really is.
  let existing = lexical;
  const missing: string[] = [];
  let resolved: string;
  for (;;) {
    try {
      resolved = await realpath(existing);
      break;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ELOOP') throw new SandboxViolation(requested, 'it goes through a symlink loop');
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
      // A dangling symlink also fails realpath with ENOENT; creating "through" it could land anywhere.
      if (code === 'ENOENT' && (await lstatOrNull(existing))?.isSymbolicLink()) {
        throw new SandboxViolation(requested, 'it goes through a dangling symlink');
      }
      if (existing === rootReal) throw error;
      missing.unshift(path.basename(existing));
      existing = path.dirname(existing);
    }
  }
  const final = path.join(resolved, ...missing);
  if (!isInside(rootReal, resolved) || !isInside(rootReal, final)) {
    throw new SandboxViolation(requested, 'a symlink on the path points outside the root');
  }
  return final;
}

/** The root's realpath, for callers that must compare (e.g. refuse deleting the root itself). */
export async function realRoot(root: string): Promise<string> {
  return realpath(root);
}

function lexicalSegments(requested: string): string[] {
  if (typeof requested !== 'string') throw new SandboxViolation(String(requested), 'the path must be a string');
  if (requested.trim() === '') throw new SandboxViolation(requested, 'the path is empty');
  if (requested.includes('\0')) throw new SandboxViolation(requested, 'the path contains a NUL byte');
  // Backslashes are separators on Windows and escape-ish elsewhere; memory files never need them.
  if (requested.includes('\\')) throw new SandboxViolation(requested, 'backslashes are not allowed; use "/"');
  if (path.isAbsolute(requested) || /^[A-Za-z]:/.test(requested)) {
    throw new SandboxViolation(requested, 'absolute paths are not allowed');
  }
  if (requested.startsWith('~')) throw new SandboxViolation(requested, 'home-relative paths are not allowed');
  const segments = requested.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.includes('..')) throw new SandboxViolation(requested, '".." segments are not allowed');
  return segments;
}

async function refuseSymlinkComponents(rootReal: string, segments: string[], requested: string): Promise<void> {
  let current = rootReal;
  for (const segment of segments) {
    current = path.join(current, segment);
    const stat = await lstatOrNull(current);
    if (stat === null) return; // the rest does not exist yet, so it cannot be a link
    if (stat.isSymbolicLink()) throw new SandboxViolation(requested, 'writing through a symlink is not allowed');
  }
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

export function isInside(rootReal: string, candidate: string): boolean {
  const rel = path.relative(rootReal, candidate);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}
