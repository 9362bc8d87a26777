// The file system the git library writes the repository through. The repository holds every version of the
// memory folder, so it gets the folder's owner-only modes; and a write lands whole or not at all, because the
// library never rewrites an object it finds present: a truncated object left by a full disk or a kill would stay
// corrupt for good.
import { randomUUID } from 'node:crypto';
import { promises } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

async function mkdir(path: string): Promise<void> {
  await promises.mkdir(path, { mode: DIR_MODE });
  // The umask may only remove bits; chmod makes the mode exact regardless.
  await promises.chmod(path, DIR_MODE);
}

// No fsync: like git itself, the repository trusts the page cache; the rename alone keeps a reader (or a
// writer killed half-way) from ever seeing a partial file.
async function writeFile(path: string, data: string | Uint8Array, options?: unknown): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomUUID()}.tmp`);
  try {
    await promises.writeFile(tmp, data, { ...encodingOf(options), mode: FILE_MODE, flag: 'wx' });
    await promises.chmod(tmp, FILE_MODE);
    await promises.rename(tmp, path);
  } catch (error) {
    await promises.unlink(tmp).catch(() => undefined);
    throw error;
  }
}

function encodingOf(options: unknown): { encoding?: BufferEncoding } {
  if (typeof options === 'string') return { encoding: options as BufferEncoding };
  const encoding = (options as { encoding?: BufferEncoding } | undefined)?.encoding;
  return encoding ? { encoding } : {};
}

/** A promise-style fs (as the git library accepts) with private, whole-or-nothing writes. */
export const privateFs = { ...promises, mkdir, writeFile };
