// The agent's apply_patch tool: Codex's patch format (add, delete, update with hunks), applied all
// or nothing so that a bad hunk in the last file leaves every file untouched.
import { unlink } from 'node:fs/promises';
import { z } from 'zod';
import { lstatOrNull } from './sandbox-path.ts';
import { defineTool, readTextInside, resolveForWrite, splitLines, writeInside } from './sandbox-io.ts';

type Hunk = { anchor: string | null; lines: Array<{ op: ' ' | '-' | '+'; text: string }> };
const HEADERS = [
  ['add', '*** Add File: '],
  ['delete', '*** Delete File: '],
  ['update', '*** Update File: '],
] as const;
type PatchOp =
  | { kind: 'add'; path: string; lines: string[] }
  | { kind: 'delete'; path: string }
  | { kind: 'update'; path: string; hunks: Hunk[] };

export const applyPatch = defineTool({
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
  schema: z
    .object({ patch: z.string().min(1).describe('The whole patch text, from *** Begin Patch to *** End Patch.') })
    .strict(),
  async run(ctx, { patch }) {
    const planned: Array<{ rel: string; target: string; content: string | null }> = [];
    for (const op of parsePatch(patch)) {
      const target = await resolveForWrite(ctx, op.path);
      if (planned.some((p) => p.target === target))
        throw patchError(`${op.path} appears twice; combine its changes into one section`);
      const info = await lstatOrNull(target);
      if (op.kind === 'add') {
        if (info !== null) throw new Error(`cannot add ${op.path}: it already exists (use *** Update File)`);
        planned.push({ rel: op.path, target, content: op.lines.length === 0 ? '' : `${op.lines.join('\n')}\n` });
      } else if (op.kind === 'delete') {
        if (info === null) throw new Error(`cannot delete ${op.path}: it does not exist`);
        if (!info.isFile()) throw new Error(`cannot delete ${op.path}: not a regular file`);
        planned.push({ rel: op.path, target, content: null });
      } else {
        planned.push({ rel: op.path, target, content: applyHunks(await readTextInside(ctx, op.path), op.hunks, op.path) });
      }
    }
    for (const p of planned) {
      if (p.content === null) await unlink(p.target);
      else await writeInside(ctx, p.rel, p.target, p.content);
    }
    return planned.map((p) => `${p.content === null ? 'deleted' : 'wrote'} ${p.rel}`).join('\n');
  },
});

function parsePatch(patch: string): PatchOp[] {
  const lines = patch.replace(/\r\n/g, '\n').split('\n');
  while (lines.length > 0 && lines[lines.length - 1].trim() === '') lines.pop();
  while (lines.length > 0 && lines[0].trim() === '') lines.shift();
  if (lines[0]?.trim() !== '*** Begin Patch') throw patchError('the patch must start with "*** Begin Patch"');
  if (lines[lines.length - 1]?.trim() !== '*** End Patch') throw patchError('the patch must end with "*** End Patch"');
  const body = lines.slice(1, -1);
  const ops: PatchOp[] = [];
  let i = 0;
  while (i < body.length) {
    const line = body[i++];
    const header = HEADERS.find(([, prefix]) => line.startsWith(prefix));
    if (header === undefined) {
      const expected = '"*** Add File: ", "*** Update File: " or "*** Delete File: "';
      throw patchError(`line ${i + 1}: expected ${expected} (got ${JSON.stringify(line.slice(0, 60))})`);
    }
    const path = line.slice(header[1].length).trim();
    if (path === '') throw patchError('a file header is missing its path');
    if (header[0] === 'delete') ops.push({ kind: 'delete', path });
    let end = i;
    while (end < body.length && !(body[end].startsWith('*** ') && body[end] !== '*** End of File')) end++;
    if (header[0] === 'update') ops.push({ kind: 'update', path, hunks: parseHunks(body, i, end, path) });
    if (header[0] === 'add') {
      const bad = body.slice(i, end).findIndex((l) => !l.startsWith('+'));
      if (bad !== -1) throw patchError(`line ${i + bad + 2}: every line of an added file must start with "+"`);
      ops.push({ kind: 'add', path, lines: body.slice(i, end).map((l) => l.slice(1)) });
    }
    if (header[0] !== 'delete') i = end;
  }
  if (ops.length === 0) throw patchError('the patch contains no file operations');
  return ops;
}

function patchError(message: string): Error {
  return new Error(`apply_patch: ${message}`);
}

/** The hunks of one "*** Update File" section, body[from..to). */
function parseHunks(body: string[], from: number, to: number, file: string): Hunk[] {
  if (body[from]?.startsWith('*** Move to:'))
    throw patchError('"*** Move to:" is not supported; add the new file and delete the old one');
  const hunks: Hunk[] = [];
  for (let i = from; i < to; i++) {
    const l = body[i];
    // Codex's end marker carries no content: the hunk already ends at the last line.
    if (l === '*** End of File') continue;
    if (l.startsWith('@@')) {
      hunks.push({ anchor: l.slice(2).trim() || null, lines: [] });
      continue;
    }
    if (hunks.length === 0) hunks.push({ anchor: null, lines: [] });
    const current = hunks[hunks.length - 1];
    const op = l[0];
    // A bare empty line is an empty context line; models often drop the leading space.
    if (l === '') current.lines.push({ op: ' ', text: '' });
    else if (op === ' ' || op === '-' || op === '+') current.lines.push({ op, text: l.slice(1) });
    else throw patchError(`line ${i + 2}: hunk lines must start with " ", "-" or "+" (got ${JSON.stringify(l.slice(0, 40))})`);
  }
  if (hunks.every((h) => h.lines.length === 0)) throw patchError(`update of ${file} has no changes`);
  return hunks;
}

function applyHunks(text: string, hunks: Hunk[], rel: string): string {
  const endsWithNewline = text === '' || text.endsWith('\n');
  const lines = splitLines(text);
  let cursor = 0;
  for (const [index, hunk] of hunks.entries()) {
    if (hunk.lines.length === 0) continue;
    if (hunk.anchor !== null) {
      const at = findSequence(lines, [hunk.anchor], cursor);
      if (at === -1) throw patchError(`${rel} hunk ${index + 1}: anchor line ${JSON.stringify(hunk.anchor)} not found`);
      cursor = at + 1;
    }
    const oldLines = hunk.lines.filter((l) => l.op !== '+').map((l) => l.text);
    const newLines = hunk.lines.filter((l) => l.op !== '-').map((l) => l.text);
    // A pure insertion goes after the anchor, else at the end.
    const at = oldLines.length > 0 ? findSequence(lines, oldLines, cursor) : hunk.anchor !== null ? cursor : lines.length;
    if (at === -1) {
      const start = JSON.stringify(oldLines[0].slice(0, 60));
      throw patchError(`${rel} hunk ${index + 1}: context/removed lines not found (starting ${start}); read the file and retry`);
    }
    lines.splice(at, oldLines.length, ...newLines);
    cursor = at + newLines.length;
  }
  if (lines.length === 0) return '';
  return lines.join('\n') + (endsWithNewline ? '\n' : '');
}

/** First index ≥ from where `needle` matches; exact first, then ignoring trailing/edge whitespace. */
function findSequence(lines: string[], needle: string[], from: number): number {
  for (const norm of [(s: string) => s, (s: string) => s.trimEnd(), (s: string) => s.trim()]) {
    const want = needle.map(norm);
    for (let i = from; i + want.length <= lines.length; i++) {
      if (want.every((w, k) => norm(lines[i + k]) === w)) return i;
    }
  }
  return -1;
}
