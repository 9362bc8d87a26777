// lowdb's JSONFile shares one temp name and never fsyncs; this Adapter shows readers the old or new document.
import fs from 'node:fs';
import path from 'node:path';
import type { Adapter } from 'lowdb';
import { StoreCorruptError } from '../errors.ts';
import { type StagedFile, stageFileAtomic } from '../files/atomic-write.ts';

/** Store files hold leases and memories of the user's sessions: owner-only. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

export class AtomicJsonFile<T> implements Adapter<T> {
  readonly file: string;
  /** Checks a parsed document; throws StoreCorruptError when it is not one we wrote. */
  private readonly decode: (raw: unknown) => T | Promise<T>;
  /**
   * The text last read or written and its document: a file that still holds that text (no other process
   * wrote it since) is not parsed and checked again. The document is the one transactions mutate, so a
   * failed transaction must call forget().
   */
  private last: { text: string; data: T } | null = null;
  constructor(file: string, decode: (raw: unknown) => T | Promise<T>) {
    this.file = path.resolve(file);
    this.decode = decode;
  }

  forget(): void {
    this.last = null;
  }

  /** null only when the file does not exist; StoreCorruptError when it is not a store document. */
  async read(): Promise<T | null> {
    const text = await fs.promises.readFile(this.file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return null;
      throw error;
    });
    if (text === null) return null;
    if (this.last?.text === text) return this.last.data;
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (error) {
      // Never fall back to defaults: that would silently wipe every job and memory on next write.
      throw new StoreCorruptError(this.file, error);
    }
    const data = await this.decode(raw);
    this.last = { text, data };
    return data;
  }

  async write(data: T): Promise<void> {
    await (await this.stage(data)).commit();
  }

  /** The document written beside the file, replacing it on commit (see stageFileAtomic). */
  async stage(data: T): Promise<StagedFile> {
    const dir = path.dirname(this.file);
    fs.mkdirSync(dir, { recursive: true, mode: DIR_MODE });
    // Compact JSON: every write re-serialises the whole document.
    const text = JSON.stringify(data);
    this.last = null;
    const staged = await stageFileAtomic(this.file, text);
    return {
      commit: async () => {
        await staged.commit();
        this.last = { text, data };
      },
      discard: staged.discard,
    };
  }
}
