// Transactions: lock jobs.json → read fresh → mutate → write → unlock. outputs.json is written first: a crash
// in between leaves a stored output with its job running (next claim: up to date), never a done job without output.
import fs from 'node:fs';
import path from 'node:path';
import { Low } from 'lowdb';
import { type StagedFile, sweepOrphanedTemps } from '../files/atomic-write.ts';
import type { Logger } from '../logger.ts';
import { AtomicJsonFile, DIR_MODE, FILE_MODE } from './atomic-json-file.ts';
import { emptyJobs, emptyOutputs, type JobsDoc, type OutputsDoc } from './documents.ts';
import { withFileLock } from './file-lock.ts';
import { narrowedMode } from '../files/narrowed-mode.ts';

// The schemas load with the first document read: a command on an empty home never needs them.
const schemas = () => import('./document-schemas.ts');
const decodeJobs = async (raw: unknown, file: string, log?: Logger) => (await schemas()).decodeJobs(raw, file, log);
const decodeOutputs = async (raw: unknown, file: string, log?: Logger) => (await schemas()).decodeOutputs(raw, file, log);

/** What a transaction sees and tells back: set the dirty flags for the files it changed. */
export interface Tx {
  now: number; // Unix seconds
  jobs: JobsDoc;
  outputs: OutputsDoc;
  jobsDirty: boolean;
  outputsDirty: boolean;
}

/** Runs `fn` in a transaction; `withOutputs: false` skips reading outputs.json (fn must not use it). */
export type Transact = <T>(withOutputs: boolean, fn: (tx: Tx) => T) => Promise<T>;

interface Pending {
  withOutputs: boolean;
  fn: (tx: Tx) => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/** Group commit: transactions arriving during a commit all run in the next one, sharing its lock and fsyncs. */
export function createTransact(dir: string, nowMs: () => number, log?: Logger): Transact {
  const jobsFile = path.join(dir, 'jobs.json');
  const outputsFile = path.join(dir, 'outputs.json');
  const waiting: Pending[] = [];
  let committing = false;
  let swept: Promise<void> | null = null; // temps of killed writers (full store copies): swept once per store

  // One adapter per file for the store's life: it keeps the last document it read or wrote.
  const jobsAdapter = new AtomicJsonFile<JobsDoc>(jobsFile, (raw) => decodeJobs(raw, jobsFile, log));
  const outputsAdapter = new AtomicJsonFile<OutputsDoc>(outputsFile, (raw) => decodeOutputs(raw, outputsFile, log));

  async function load<T>(adapter: AtomicJsonFile<T>, empty: () => T) {
    // A fresh Low per transaction: lowdb keeps its default object by reference.
    const db = new Low<T>(adapter, empty());
    await db.read();
    return db;
  }

  async function commit(batch: Pending[]): Promise<void> {
    const withOutputs = batch.some((p) => p.withOutputs);
    let results: unknown[] = [];
    try {
      await withFileLock(jobsFile, async (lock) => {
        if (!swept) swept = sweepOrphanedTemps(dir);
        await swept;
        const [jobsDb, outputsDb] = await Promise.all([
          load(jobsAdapter, emptyJobs),
          withOutputs ? load(outputsAdapter, emptyOutputs) : null,
        ]);
        const tx: Tx = {
          now: Math.floor(nowMs() / 1000),
          jobs: jobsDb.data,
          outputs: outputsDb?.data ?? emptyOutputs(),
          jobsDirty: false,
          outputsDirty: false,
        };
        results = batch.map((p) => p.fn(tx));
        // Both documents written before either replaces its file: a full disk changes neither, never an output
        // without its job (or the other way round).
        const writes: Array<() => Promise<StagedFile>> = [];
        if (tx.outputsDirty && outputsDb) writes.push(() => outputsAdapter.stage(outputsDb.data));
        if (tx.jobsDirty) writes.push(() => jobsAdapter.stage(jobsDb.data));
        const staged: StagedFile[] = [];
        try {
          for (const stage of writes) staged.push(await stage());
        } catch (error) {
          await Promise.all(staged.map((file) => file.discard()));
          throw error;
        }
        lock.assertHeld();
        for (const file of staged) await file.commit();
      });
    } catch (error) {
      // The kept documents may hold a mutation that was never written.
      jobsAdapter.forget();
      outputsAdapter.forget();
      // In a batch we cannot tell whose mutator failed, so each one is retried alone.
      if (batch.length === 1) batch[0].reject(error);
      else for (const p of batch) await commit([p]);
      return;
    }
    // Copies: a later mutator in the same batch must not change what an earlier one returned.
    for (const [i, p] of batch.entries()) p.resolve(structuredClone(results[i]));
  }

  async function commitLoop(): Promise<void> {
    committing = true;
    try {
      while (waiting.length > 0) await commit(waiting.splice(0));
    } finally {
      committing = false;
    }
  }

  return <T>(withOutputs: boolean, fn: (tx: Tx) => T) =>
    new Promise<T>((resolve, reject) => {
      waiting.push({ withOutputs, fn, resolve: resolve as (value: unknown) => void, reject });
      if (!committing) void commitLoop();
    });
}

/** An existing store directory with looser modes is tightened: it holds the user's sessions. */
export function tightenModes(dir: string): void {
  const tighten = (file: string, mode: number) => {
    const st = fs.statSync(file, { throwIfNoEntry: false });
    const narrowed = st ? narrowedMode(st.mode, mode) : null;
    if (narrowed !== null) fs.chmodSync(file, narrowed);
  };
  if (!fs.existsSync(dir)) return;
  tighten(dir, DIR_MODE);
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.isFile()) tighten(path.join(dir, entry.name), FILE_MODE);
  }
}
