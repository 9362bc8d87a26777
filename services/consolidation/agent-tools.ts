// The consolidation agent's only way to touch the disk: six file tools, every path confined to the
// memory root (sandbox-path.ts). Deliberately no shell and no network: the agent's input
// comes from untrusted transcripts, so its reach must be exactly the memory folder.
import { constants } from 'node:fs';
import { lstat, open, readdir, rmdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { ensureDir, writeFileAtomic } from '../files/atomic-write.ts';
import { lstatOrNull, realRoot, resolveInsideRoot, SandboxViolation } from './sandbox-path.ts';

export interface AgentTool {
  name: string;
  description: string;
  /** JSON schema of the arguments object, as function-calling APIs expect. */
  parameters: object;
  /** Runs the tool. Errors are thrown with a message meant for the model. */
  execute(args: unknown): Promise<string>;
}

export interface MemoryToolOptions {
  /** Most bytes read_file returns in one call (default 64 KiB); the rest is paged with offset. */
  maxReadBytes?: number;
  /** Largest content write_file / edit_file / apply_patch may produce for one file (default 1 MiB). */
  maxWriteBytes?: number;
  /** Told about every refused escape attempt, e.g. to log a prompt-injection signal. */
  onViolation?(tool: string, path: string, reason: string): void;
}

const DEFAULT_MAX_READ = 64 * 1024;
const DEFAULT_MAX_WRITE = 1024 * 1024;
// Files above this are never loaded whole; nothing legitimate in a memory folder is this large.
const HARD_READ_LIMIT = 32 * 1024 * 1024;
const MAX_LIST_ENTRIES = 1000;

interface Ctx {
  root: string;
  maxReadBytes: number;
  maxWriteBytes: number;
}

export function createMemoryTools(root: string, opts: MemoryToolOptions = {}): AgentTool[] {
  const ctx: Ctx = {
    root,
    maxReadBytes: opts.maxReadBytes ?? DEFAULT_MAX_READ,
    maxWriteBytes: opts.maxWriteBytes ?? DEFAULT_MAX_WRITE,
  };
  const specs = [listDir, readFile, writeFile, editFile, applyPatch, deleteFile];
  return specs.map((spec) => ({
    name: spec.name,
    description: spec.description,
    parameters: jsonSchemaOf(spec.schema),
    async execute(raw: unknown) {
      const args = parseArgs(spec.name, spec.schema, raw);
      try {
        return await spec.run(ctx, args);
      } catch (error) {
        if (error instanceof SandboxViolation) opts.onViolation?.(spec.name, error.requested, error.reason);
        throw friendly(error, spec.name, args);
      }
    },
  }));
}

interface ToolSpec<S extends z.ZodType> {
  name: string;
  description: string;
  schema: S;
  run(ctx: Ctx, args: z.infer<S>): Promise<string>;
}

type AnyToolSpec = { name: string; description: string; schema: z.ZodType; run(ctx: Ctx, args: unknown): Promise<string> };

/** Lets each tool's `run` see its parsed argument type while the list stays homogeneous. */
function defineTool<S extends z.ZodType>(spec: ToolSpec<S>): AnyToolSpec {
  return spec as unknown as AnyToolSpec;
}

const relPath = z.string().describe('Path relative to the memory root, e.g. "MEMORY.md" or "skills/foo/SKILL.md".');

const listDir = defineTool({
  name: 'list_dir',
  description: 'List a directory inside the memory root. Directories end with "/", files show their size. Defaults to the root.',
  schema: z.object({ path: relPath.optional() }).strict(),
  async run(ctx, { path: requested }) {
    const rel = requested === undefined || requested.trim() === '' ? '.' : requested;
    const dir = await resolveInsideRoot(ctx.root, rel);
    if (!(await stat(dir)).isDirectory()) throw new Error(`not a directory: ${rel}`);
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
    if (entries.length === 0) return `${rel}: (empty directory)`;
    const lines: string[] = [];
    for (const entry of entries.slice(0, MAX_LIST_ENTRIES)) {
      // lstat: describe links as links; never follow them to report something outside.
      const info = await lstat(path.join(dir, entry.name));
      if (info.isDirectory()) lines.push(`${entry.name}/`);
      else if (info.isSymbolicLink()) lines.push(`${entry.name} (symlink)`);
      else if (info.isFile()) lines.push(`${entry.name} (${info.size} bytes)`);
      else lines.push(`${entry.name} (special file)`);
    }
    if (entries.length > MAX_LIST_ENTRIES) lines.push(`[${entries.length - MAX_LIST_ENTRIES} more entries not shown]`);
    return lines.join('\n');
  },
});

const readFile = defineTool({
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
    const text = await readTextInside(ctx, rel);
    const lines = splitLines(text);
    if (lines.length === 0) return `${rel}: (empty file)`;
    if (offset > lines.length) throw new Error(`offset ${offset} is past the end of ${rel} (${lines.length} lines)`);
    const last = Math.min(lines.length, limit === undefined ? lines.length : offset - 1 + limit);
    let out = '';
    let bytes = 0;
    let shownLast = offset - 1;
    for (let i = offset - 1; i < last; i++) {
      const line = lines[i] + '\n';
      const size = Buffer.byteLength(line);
      if (bytes + size > ctx.maxReadBytes) {
        if (shownLast === offset - 1) out += truncateUtf8(line, ctx.maxReadBytes); // one huge line: show its head
        break;
      }
      out += line;
      bytes += size;
      shownLast = i + 1;
    }
    if (shownLast < last || shownLast < lines.length) {
      const next = Math.max(shownLast + 1, offset + 1);
      out += `\n[truncated: showed lines ${offset}-${Math.max(shownLast, offset)} of ${lines.length}; call read_file with offset=${next} to continue]`;
    }
    return out;
  },
});

const writeFile = defineTool({
  name: 'write_file',
  description: 'Create or replace a file inside the memory root with the given content. Parent directories are created.',
  schema: z.object({ path: relPath, content: z.string().describe('The complete new file content.') }).strict(),
  async run(ctx, { path: rel, content }) {
    const target = await resolveForWrite(ctx, rel);
    await writeInside(ctx, rel, target, content);
    return `wrote ${Buffer.byteLength(content)} bytes to ${rel}`;
  },
});

const editFile = defineTool({
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
    const count = countOccurrences(text, old_text);
    if (count === 0) throw new Error(`old_text not found in ${rel}; read the file and copy the text exactly`);
    if (count > 1) throw new Error(`old_text occurs ${count} times in ${rel}; include more surrounding text so it is unique`);
    const at = text.indexOf(old_text);
    await writeInside(ctx, rel, target, text.slice(0, at) + new_text + text.slice(at + old_text.length));
    return `edited ${rel}: replaced 1 occurrence`;
  },
});

const applyPatch = defineTool({
  name: 'apply_patch',
  description: [
    'Apply a patch to files inside the memory root. Format (nothing is written unless every part applies):',
    '*** Begin Patch',
    '*** Add File: <path>        then every line of the new file prefixed with "+"',
    '*** Delete File: <path>',
    '*** Update File: <path>     then one or more hunks:',
    '@@ [optional line that appears shortly before the change]',
    ' context line (leading space)',
    '-removed line',
    '+added line',
    '*** End Patch',
    'Hunks apply in file order; each hunk\'s context and "-" lines must match the file.',
  ].join('\n'),
  schema: z.object({ patch: z.string().min(1).describe('The whole patch text, from *** Begin Patch to *** End Patch.') }).strict(),
  async run(ctx, { patch }) {
    const ops = parsePatch(patch);
    // Plan everything first so a bad hunk in the last file leaves every file untouched.
    const planned: Array<{ rel: string; target: string; content: string | null }> = [];
    for (const op of ops) {
      const target = await resolveForWrite(ctx, op.path);
      if (planned.some((p) => p.target === target)) throw new Error(`apply_patch: ${op.path} appears twice; combine its changes into one section`);
      if (op.kind === 'add') {
        if (await exists(target)) throw new Error(`cannot add ${op.path}: it already exists (use *** Update File)`);
        planned.push({ rel: op.path, target, content: op.lines.length === 0 ? '' : op.lines.join('\n') + '\n' });
      } else if (op.kind === 'delete') {
        const info = await lstatOrNull(target);
        if (info === null) throw new Error(`cannot delete ${op.path}: it does not exist`);
        if (!info.isFile()) throw new Error(`cannot delete ${op.path}: not a regular file`);
        planned.push({ rel: op.path, target, content: null });
      } else {
        const text = await readTextInside(ctx, op.path);
        planned.push({ rel: op.path, target, content: applyHunks(text, op.hunks, op.path) });
      }
    }
    for (const p of planned) {
      if (p.content === null) await unlink(p.target);
      else await writeInside(ctx, p.rel, p.target, p.content);
    }
    return planned.map((p) => `${p.content === null ? 'deleted' : 'wrote'} ${p.rel}`).join('\n');
  },
});

const deleteFile = defineTool({
  name: 'delete_file',
  description: 'Delete a file or an empty directory inside the memory root. The root itself cannot be deleted.',
  schema: z.object({ path: relPath }).strict(),
  async run(ctx, { path: rel }) {
    const target = await resolveForWrite(ctx, rel);
    if (target === (await realRoot(ctx.root))) throw new Error('refusing to delete the memory root itself');
    const info = await lstatOrNull(target);
    if (info === null) throw new Error(`cannot delete ${rel}: it does not exist`);
    if (info.isDirectory()) {
      try {
        await rmdir(target);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOTEMPTY') {
          throw new Error(`cannot delete ${rel}: directory is not empty; delete its files first`);
        }
        throw error;
      }
      return `deleted directory ${rel}`;
    }
    await unlink(target);
    return `deleted ${rel}`;
  },
});

// ---------- shared file helpers ----------

async function resolveForWrite(ctx: Ctx, rel: string): Promise<string> {
  return resolveInsideRoot(ctx.root, rel, { forWrite: true });
}

async function readTextInside(ctx: Ctx, rel: string): Promise<string> {
  const target = await resolveInsideRoot(ctx.root, rel);
  // The resolver returned a symlink-free path; O_NOFOLLOW makes a link swapped in since then fail.
  let handle;
  try {
    handle = await open(target, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new Error(`file not found: ${rel}`);
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new SandboxViolation(rel, 'the file became a symlink');
    throw error;
  }
  try {
    const info = await handle.stat();
    if (info.isDirectory()) throw new Error(`${rel} is a directory; use list_dir`);
    if (!info.isFile()) throw new Error(`${rel} is not a regular file`);
    if (info.size > HARD_READ_LIMIT) throw new Error(`${rel} is too large to read (${info.size} bytes)`);
    const buffer = await handle.readFile();
    if (buffer.includes(0)) throw new Error(`${rel} looks binary (${buffer.length} bytes); only text files can be read`);
    return buffer.toString('utf8');
  } finally {
    await handle.close();
  }
}

async function writeInside(ctx: Ctx, rel: string, target: string, content: string): Promise<void> {
  const size = Buffer.byteLength(content);
  if (size > ctx.maxWriteBytes) {
    throw new Error(`refusing to write ${rel}: ${size} bytes exceeds the ${ctx.maxWriteBytes}-byte limit; keep memory files concise`);
  }
  if ((await lstatOrNull(target))?.isDirectory()) throw new Error(`${rel} is a directory`);
  await ensureDir(path.dirname(target));
  // Re-check after creating parents: a link planted in between must not be written through.
  await resolveForWrite(ctx, rel);
  await writeFileAtomic(target, content);
}


async function exists(p: string): Promise<boolean> {
  return (await lstatOrNull(p)) !== null;
}

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function truncateUtf8(text: string, maxBytes: number): string {
  const buffer = Buffer.from(text);
  if (buffer.length <= maxBytes) return text;
  // Drop a partial trailing character rather than emit U+FFFD.
  return buffer.subarray(0, maxBytes).toString('utf8').replace(/\uFFFD$/, '');
}

function countOccurrences(text: string, needle: string): number {
  let count = 0;
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + 1)) count++;
  return count;
}

// ---------- argument handling ----------

function parseArgs(tool: string, schema: z.ZodType, raw: unknown): unknown {
  let value = raw ?? {};
  // Function-calling APIs hand over arguments as a JSON string; accept both forms.
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value === '' ? '{}' : value);
    } catch {
      throw new Error(`invalid arguments for ${tool}: not valid JSON`);
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    const detail = result.error.issues.map((i) => `${i.path.join('.') || 'arguments'}: ${i.message}`).join('; ');
    throw new Error(`invalid arguments for ${tool}: ${detail}`);
  }
  return result.data;
}

function jsonSchemaOf(schema: z.ZodType): object {
  const { $schema: _ignored, ...rest } = z.toJSONSchema(schema) as Record<string, unknown>;
  return rest;
}

/** Node's errno messages leak absolute paths and are cryptic to a model; rephrase the common ones. */
function friendly(error: unknown, tool: string, args: unknown): Error {
  if (!(error instanceof Error)) return new Error(String(error));
  const code = (error as NodeJS.ErrnoException).code;
  const requested = (args as { path?: unknown }).path;
  const where = `${tool}${typeof requested === 'string' ? ` ${JSON.stringify(requested)}` : ''}`;
  if (code === 'ENOENT') return new Error(`${where}: no such file or directory`);
  // mkdir reports EEXIST when a parent "directory" is really a file.
  if (code === 'ENOTDIR' || code === 'EEXIST') return new Error(`${where}: a component of the path is a file, not a directory`);
  if (code === 'EISDIR') return new Error(`${where}: the path is a directory`);
  if (code === 'EACCES' || code === 'EPERM') return new Error(`${where}: permission denied`);
  return error;
}

// ---------- apply_patch ----------

type Hunk = { anchor: string | null; lines: Array<{ op: ' ' | '-' | '+'; text: string }> };
type PatchOp =
  | { kind: 'add'; path: string; lines: string[] }
  | { kind: 'delete'; path: string }
  | { kind: 'update'; path: string; hunks: Hunk[] };

function parsePatch(patch: string): PatchOp[] {
  const lines = patch.replace(/\r\n/g, '\n').split('\n');
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  while (lines.length > 0 && lines[0].trim() === '') lines.shift();
  if (lines[0]?.trim() !== '*** Begin Patch') throw new Error('apply_patch: the patch must start with "*** Begin Patch"');
  if (lines[lines.length - 1]?.trim() !== '*** End Patch') throw new Error('apply_patch: the patch must end with "*** End Patch"');
  const body = lines.slice(1, -1);
  const ops: PatchOp[] = [];
  const seen = new Set<string>();
  let i = 0;
  const header = (line: string, prefix: string) => (line.startsWith(prefix) ? line.slice(prefix.length).trim() : null);
  while (i < body.length) {
    const line = body[i];
    let p: string | null;
    if ((p = header(line, '*** Add File: ')) !== null) {
      i++;
      const content: string[] = [];
      while (i < body.length && !body[i].startsWith('*** ')) {
        if (!body[i].startsWith('+')) throw new Error(`apply_patch: line ${i + 2}: every line of an added file must start with "+"`);
        content.push(body[i].slice(1));
        i++;
      }
      ops.push({ kind: 'add', path: p, lines: content });
    } else if ((p = header(line, '*** Delete File: ')) !== null) {
      i++;
      ops.push({ kind: 'delete', path: p });
    } else if ((p = header(line, '*** Update File: ')) !== null) {
      i++;
      if (body[i]?.startsWith('*** Move to:')) throw new Error('apply_patch: "*** Move to:" is not supported; add the new file and delete the old one');
      const hunks: Hunk[] = [];
      let current: Hunk | null = null;
      while (i < body.length && !(body[i].startsWith('*** ') && body[i] !== '*** End of File')) {
        const l = body[i];
        if (l === '*** End of File') {
          // Codex-style end marker: carries no content, the hunk already ends at the last line.
        } else if (l.startsWith('@@')) {
          current = { anchor: l.slice(2).trim() || null, lines: [] };
          hunks.push(current);
        } else {
          if (current === null) {
            current = { anchor: null, lines: [] };
            hunks.push(current);
          }
          const op = l[0];
          // A bare empty line is an empty context line; models often drop the leading space.
          if (l === '') current.lines.push({ op: ' ', text: '' });
          else if (op === ' ' || op === '-' || op === '+') current.lines.push({ op, text: l.slice(1) });
          else throw new Error(`apply_patch: line ${i + 2}: hunk lines must start with " ", "-" or "+" (got ${JSON.stringify(l.slice(0, 40))})`);
        }
        i++;
      }
      if (hunks.length === 0 || hunks.every((h) => h.lines.length === 0)) {
        throw new Error(`apply_patch: update of ${p} has no changes`);
      }
      ops.push({ kind: 'update', path: p, hunks });
    } else {
      throw new Error(
        `apply_patch: line ${i + 2}: expected "*** Add File: ", "*** Update File: " or "*** Delete File: " (got ${JSON.stringify(line.slice(0, 60))})`,
      );
    }
    const last = ops[ops.length - 1];
    if (last.path === '') throw new Error('apply_patch: a file header is missing its path');
    if (seen.has(last.path)) throw new Error(`apply_patch: ${last.path} appears twice; combine its changes into one section`);
    seen.add(last.path);
  }
  if (ops.length === 0) throw new Error('apply_patch: the patch contains no file operations');
  return ops;
}

function applyHunks(text: string, hunks: Hunk[], rel: string): string {
  const endsWithNewline = text === '' || text.endsWith('\n');
  const lines = splitLines(text);
  let cursor = 0;
  for (const [index, hunk] of hunks.entries()) {
    if (hunk.lines.length === 0) continue;
    if (hunk.anchor !== null) {
      const at = findSequence(lines, [hunk.anchor], cursor);
      if (at === -1) throw new Error(`apply_patch: ${rel} hunk ${index + 1}: anchor line ${JSON.stringify(hunk.anchor)} not found`);
      cursor = at + 1;
    }
    const oldLines = hunk.lines.filter((l) => l.op !== '+').map((l) => l.text);
    const newLines = hunk.lines.filter((l) => l.op !== '-').map((l) => l.text);
    let at: number;
    if (oldLines.length === 0) {
      at = hunk.anchor !== null ? cursor : lines.length; // pure insertion: after the anchor, else at the end
    } else {
      at = findSequence(lines, oldLines, cursor);
      if (at === -1) {
        throw new Error(
          `apply_patch: ${rel} hunk ${index + 1}: context/removed lines not found (starting ${JSON.stringify(oldLines[0].slice(0, 60))}); read the file and retry`,
        );
      }
    }
    lines.splice(at, oldLines.length, ...newLines);
    cursor = at + newLines.length;
  }
  if (lines.length === 0) return '';
  return lines.join('\n') + (endsWithNewline ? '\n' : '');
}

/** First index ≥ from where `needle` matches; exact first, then ignoring trailing/edge whitespace. */
function findSequence(lines: string[], needle: string[], from: number): number {
  const normalisers = [(s: string) => s, (s: string) => s.trimEnd(), (s: string) => s.trim()];
  for (const norm of normalisers) {
    const want = needle.map(norm);
    for (let i = from; i + want.length <= lines.length; i++) {
      if (want.every((w, k) => norm(lines[i + k]) === w)) return i;
    }
  }
  return -1;
}
