// The agent's file tools other than apply_patch. Each names paths relative to the memory root only.
import { lstat, readdir, realpath, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { GIT_DIR } from '../memory-history/git-dir.ts';
import { lstatOrNull, resolveInsideRoot } from './sandbox-path.ts';
import { defineTool, readTextInside, relPath, resolveForWrite, splitLines, writeInside } from './sandbox-io.ts';

const MAX_LIST_ENTRIES = 1000;

export const listDir = defineTool({
  name: 'list_dir',
  description: 'List a directory inside the memory root. Directories end with "/", files show their size. Defaults to the root.',
  schema: z.object({ path: relPath.optional() }).strict(),
  async run(ctx, { path: requested }) {
    const rel = requested === undefined || requested.trim() === '' ? '.' : requested;
    const dir = await resolveInsideRoot(ctx.root, rel);
    if (!(await stat(dir)).isDirectory()) throw new Error(`not a directory: ${rel}`);
    const entries = (await readdir(dir, { withFileTypes: true }))
      .filter((entry) => entry.name.toLowerCase() !== GIT_DIR)
      .sort((a, b) => a.name.localeCompare(b.name));
    if (entries.length === 0) return `${rel}: (empty directory)`;
    const lines: string[] = [];
    for (const entry of entries.slice(0, MAX_LIST_ENTRIES)) {
      // lstat: describe links as links; never follow them to report something outside.
      const info = await lstat(path.join(dir, entry.name));
      const kind = info.isSymbolicLink() ? ' (symlink)' : info.isFile() ? ` (${info.size} bytes)` : ' (special file)';
      lines.push(info.isDirectory() ? `${entry.name}/` : `${entry.name}${kind}`);
    }
    if (entries.length > MAX_LIST_ENTRIES) lines.push(`[${entries.length - MAX_LIST_ENTRIES} more entries not shown]`);
    return lines.join('\n');
  },
});

export const readFile = defineTool({
  name: 'read_file',
  description:
    'Read a text file inside the memory root. Optional offset (first line, 1-based) and limit (number of lines). ' +
    'Long output is truncated with a note telling where to continue.',
  schema: z
    .object({
      path: relPath,
      offset: z.number().int().min(1).optional().describe('First line to return, 1-based (default 1).'),
      limit: z.number().int().min(1).optional().describe('Maximum number of lines to return (default: all that fit).'),
    })
    .strict(),
  async run(ctx, { path: rel, offset = 1, limit }) {
    const lines = splitLines(await readTextInside(ctx, rel));
    if (lines.length === 0) return `${rel}: (empty file)`;
    if (offset > lines.length) throw new Error(`offset ${offset} is past the end of ${rel} (${lines.length} lines)`);
    const last = Math.min(lines.length, limit === undefined ? lines.length : offset - 1 + limit);
    let out = '';
    let bytes = 0;
    let shownLast = offset - 1;
    for (let i = offset - 1; i < last; i++) {
      const line = `${lines[i]}\n`;
      bytes += Buffer.byteLength(line);
      if (bytes > ctx.maxReadBytes) {
        // One huge line: show its head, without a partial last character.
        const head = Buffer.from(line).subarray(0, ctx.maxReadBytes).toString();
        if (shownLast === offset - 1) out += head.replace(/\uFFFD$/, '');
        break;
      }
      out += line;
      shownLast = i + 1;
    }
    if (shownLast < lines.length) {
      const next = Math.max(shownLast + 1, offset + 1);
      out += `\n[truncated: showed lines ${offset}-${Math.max(shownLast, offset)} of ${lines.length}; call read_file with offset=${next} to continue]`;
    }
    return out;
  },
});

export const writeFile = defineTool({
  name: 'write_file',
  description: 'Create or replace a file inside the memory root with the given content. Parent directories are created.',
  schema: z.object({ path: relPath, content: z.string().describe('The complete new file content.') }).strict(),
  async run(ctx, { path: rel, content }) {
    await writeInside(ctx, rel, await resolveForWrite(ctx, rel), content);
    return `wrote ${Buffer.byteLength(content)} bytes to ${rel}`;
  },
});

export const editFile = defineTool({
  name: 'edit_file',
  description:
    'Replace one exact occurrence of old_text with new_text in a file inside the memory root. ' +
    'Fails if old_text occurs zero times or more than once (add surrounding lines to make it unique).',
  schema: z
    .object({
      path: relPath,
      old_text: z.string().min(1).describe('Exact text to replace; must occur exactly once.'),
      new_text: z.string().describe('Replacement text (may be empty to delete).'),
    })
    .strict(),
  async run(ctx, { path: rel, old_text, new_text }) {
    const target = await resolveForWrite(ctx, rel);
    const text = await readTextInside(ctx, rel);
    let count = 0;
    for (let at = text.indexOf(old_text); at !== -1; at = text.indexOf(old_text, at + 1)) count++;
    if (count === 0) throw new Error(`old_text not found in ${rel}; read the file and copy the text exactly`);
    if (count > 1) throw new Error(`old_text occurs ${count} times in ${rel}; include more surrounding text so it is unique`);
    await writeInside(
      ctx,
      rel,
      target,
      text.replace(old_text, () => new_text),
    );
    return `edited ${rel}: replaced 1 occurrence`;
  },
});

export const deleteFile = defineTool({
  name: 'delete_file',
  description: 'Delete a file or an empty directory inside the memory root. The root itself cannot be deleted.',
  schema: z.object({ path: relPath }).strict(),
  async run(ctx, { path: rel }) {
    const target = await resolveForWrite(ctx, rel);
    if (target === (await realpath(ctx.root))) throw new Error('refusing to delete the memory root itself');
    const info = await lstatOrNull(target);
    if (info === null) throw new Error(`cannot delete ${rel}: it does not exist`);
    if (!info.isDirectory()) {
      await unlink(target);
      return `deleted ${rel}`;
    }
    await rmdir(target).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOTEMPTY') throw new Error(`cannot delete ${rel}: directory is not empty; delete its files first`);
      throw error;
    });
    return `deleted directory ${rel}`;
  },
});
