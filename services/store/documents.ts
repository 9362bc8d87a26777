// The store documents' shapes. They are checked on every read by document-schemas.ts, loaded with the first document
// read (zod is heavy, and a command on an empty home reads none). Keyed collections have no prototype: `__proto__` is
// a valid id.
import type { JobRow, Stage1Output } from '../types.ts';
import type { BatchRecord, SelectionEntry } from './port.ts';

export type Keyed<T> = Record<string, T>;
export const keyed = <T>(): Keyed<T> => Object.create(null) as Keyed<T>;

export interface JobsDoc {
  version: 1;
  /** Stage-1 jobs keyed by thread id (job_key). */
  stage1: Keyed<JobRow>;
  global: JobRow | null;
  /** What the last successful phase 2 consumed (Codex's selected_for_phase2 flags + snapshots). */
  lastSelection: SelectionEntry[];
  /** Batch mode: submitted batches keyed by batch id; absent until the first one is recorded. */
  batches?: Keyed<BatchRecord>;
}

export interface OutputsDoc {
  version: 1;
  outputs: Keyed<Stage1Output>;
}

export const emptyJobs = (): JobsDoc => ({ version: 1, stage1: keyed(), global: null, lastSelection: [] });
export const emptyOutputs = (): OutputsDoc => ({ version: 1, outputs: keyed() });
