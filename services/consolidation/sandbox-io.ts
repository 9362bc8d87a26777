// Reads and writes inside the memory root for the agent, and the tool shape. A read checks the opened descriptor
// (regular, one link, inside the root): a hard link or a swapped directory would otherwise read outside.
import { realpath } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ensureDir, writeFileAtomic } from '../files/atomic-write.ts';
import { readRegularFile, UnsafeFileError } from '../files/regular-file.ts';
import { EXTENSIONS_DIR } from '../memory-folder/folder-roles.ts';
import { lstatOrNull, resolveInsideRoot, SandboxViolation } from './sandbox-path.ts';

export interface ToolContext {
  root: string;
  maxReadBytes: number;
  maxWriteBytes: number;
}

export interface ToolSpec<S extends z.ZodType = z.ZodType> {
  name: string;
  description: string;
  schema: S;
  run(ctx: ToolContext, args: z.infer<S>): Promise<string>;
}

/** Lets each tool's `run` see its parsed argument type while the list stays homogeneous. */
export function defineTool<S extends z.ZodType>(spec: ToolSpec<S>): ToolSpec {
  return spec as unknown as ToolSpec;
}

export const relPath = z.string().describe('Path relative to the memory root, e.g. "MEMORY.md" or "skills/foo/SKILL.md".');

// Files above this are never loaded whole; nothing legitimate in a memory folder is this large.
const HARD_READ_LIMIT = 32 * 1024 * 1024;
const ESCAPES = new Map([
  ['ELOOP', 'the file became a symlink'],
  ['EMLINK', 'the file has more than one hard link'],
  ['EXDEV', 'the opened file lies outside the root'],
]);

export async function resolveForWrite(ctx: ToolContext, rel: string): Promise<string> {
  const target = await resolveInsideRoot(ctx.root, rel, { forWrite: true });
  // Notes and extensions are the person's: the agent reads them and never changes them.
  const inside = path.relative(await realpath(ctx.root), target).split(path.sep);
  if (inside[0]?.toLowerCase() === EXTENSIONS_DIR) {
    throw new Error(`${rel} is read-only: the person's notes and extensions are never edited or deleted`);
  }
  return target;
}

export async function readTextInside(ctx: ToolContext, rel: string): Promise<string> {
  const target = await resolveInsideRoot(ctx.root, rel);
  let buffer: Buffer;
  try {
    const within = await realpath(ctx.root);
    buffer = await readRegularFile(target, { singleLink: true, maxBytes: HARD_READ_LIMIT, within });
  } catch (error) {
    if (!(error instanceof UnsafeFileError)) throw error;
    const reason = ESCAPES.get(error.code);
    if (reason !== undefined) throw new SandboxViolation(rel, reason);
    throw new Error(error.code === 'EISDIR' ? `${rel} is a directory; use list_dir` : `${rel} ${error.message}`);
  }
  if (buffer.includes(0)) throw new Error(`${rel} looks binary (${buffer.length} bytes); only text files can be read`);
  return buffer.toString('utf8');
}

export async function writeInside(ctx: ToolContext, rel: string, target: string, content: string): Promise<void> {
  const size = Buffer.byteLength(content);
  if (size > ctx.maxWriteBytes) {
    throw new Error(
      `refusing to write ${rel}: ${size} bytes exceeds the ${ctx.maxWriteBytes}-byte limit; keep memory files concise`,
    );
  }
  if ((await lstatOrNull(target))?.isDirectory()) throw new Error(`${rel} is a directory`);
  await ensureDir(path.dirname(target));
  // Re-check after creating parents: a link planted in between must not be written through.
  await resolveForWrite(ctx, rel);
  await writeFileAtomic(target, content);
}

export function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}
