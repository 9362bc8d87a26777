// What a rollout's session_meta lines say about memory generation. Codex writes the first one when the thread is
// created, with memory_mode "disabled" when generate_memories was false then. When the user turns memories off
// (or on) for that one thread, Codex appends a copy of that line carrying the new mode and updates its database
// from the last line that has one. Only those lines are decoded: the rest of the file is scanned as bytes.
import { MAX_LINE_BYTES } from '../rollouts/rollout-reader.ts';
import { openRegularFile } from '../files/regular-file.ts';

export interface SessionMetaModes {
  /** memory_mode of the first session_meta line: how the thread was created. */
  atCreation: string | null;
  /** memory_mode of the last later session_meta line that has one: the user's latest choice for this thread. */
  lastSet: string | null;
}

const CHUNK = 1024 * 1024;
const NEWLINE = 0x0a;
/** A line's top-level type comes after its timestamp (and an ordinal) within this many bytes. */
const HEAD = 160;
const SESSION_META = Buffer.from('"type":"session_meta"');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Reads no further than `maxBytes` (the size the caller saw), so the answer matches that size. */
export async function readSessionMetaModes(path: string, maxBytes: number): Promise<SessionMetaModes> {
  const modes: SessionMetaModes = { atCreation: null, lastSet: null };
  let metaLines = 0;
  let parts: Buffer[] = [];
  let size = 0;
  let keep: boolean | null = null; // null until the line's head has been seen

  const add = (piece: Buffer, ends: boolean) => {
    if (keep === false) return;
    if (keep === null && (size + piece.length >= HEAD || ends)) {
      keep = isSessionMeta(Buffer.concat([...parts, piece.subarray(0, HEAD)]));
      if (!keep) {
        parts = [];
        size = 0;
        return;
      }
    }
    size += piece.length;
    if (size > MAX_LINE_BYTES) throw new Error('a session_meta line is longer than the line cap');
    parts.push(Buffer.from(piece));
  };
  const endLine = () => {
    if (keep) {
      const mode = memoryModeOf(Buffer.concat(parts, size));
      if (metaLines === 0) modes.atCreation = mode;
      else if (mode !== null) modes.lastSet = mode;
      metaLines++;
    }
    parts = [];
    size = 0;
    keep = null;
  };

  const handle = await openRegularFile(path);
  try {
    const buffer = Buffer.allocUnsafe(CHUNK);
    for (let position = 0; position < maxBytes; ) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK, maxBytes - position), position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const chunk = buffer.subarray(0, bytesRead);
      let start = 0;
      for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
        add(chunk.subarray(start, nl), true);
        endLine();
        start = nl + 1;
      }
      if (start < bytesRead) add(chunk.subarray(start), false);
    }
    if (size > 0) {
      add(Buffer.alloc(0), true); // a last line without a line break
      endLine();
    }
  } finally {
    await handle.close();
  }
  return modes;
}

/** `{"timestamp":…,"type":"session_meta"`: with no brace, bracket or backslash before it, the key is top-level. */
function isSessionMeta(head: Buffer): boolean {
  const from = head.subarray(0, BOM.length).equals(BOM) ? BOM.length : 0;
  if (head[from] !== 0x7b) return false;
  const at = head.indexOf(SESSION_META, from);
  if (at === -1) return false;
  for (let i = from + 1; i < at; i++) {
    const b = head[i];
    if (b === 0x7b || b === 0x5b || b === 0x5c) return false; // { [ \
  }
  return true;
}

function memoryModeOf(line: Buffer): string | null {
  try {
    const mode = JSON.parse(line.toString('utf8').replace(/^\uFEFF/, ''))?.payload?.memory_mode;
    return typeof mode === 'string' ? mode : null;
  } catch {
    return null; // a torn line (Codex killed mid-write) says nothing
  }
}
