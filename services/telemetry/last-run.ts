// The last CLI run's counts under the instrument names, kept beside the store so `memories status --json` shows
// them without a collector. Each run replaces the file whole (temp + rename): last writer wins, no lock needed.
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../files/atomic-write.ts';
import type { MeasurementsJson } from './run-measurements.ts';

export const LAST_RUN_FILE = 'last-run-metrics.json';

export interface LastRun {
  finishedAt: string;
  /** `run` or `watch`. */
  command: string;
  metrics: MeasurementsJson;
}

export async function writeLastRun(stateDir: string, lastRun: LastRun): Promise<void> {
  // The store made the folder already; a run that never opened it (nothing to do) may come first.
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  await writeFileAtomic(join(stateDir, LAST_RUN_FILE), `${JSON.stringify(lastRun, null, 2)}\n`);
}

/** null when no run has finished yet, or the file is not what this tool writes (it is only a report). */
export async function readLastRun(stateDir: string): Promise<LastRun | null> {
  const text = await readFile(join(stateDir, LAST_RUN_FILE), 'utf8').catch(() => null);
  if (text === null) return null;
  try {
    const parsed = JSON.parse(text) as Partial<LastRun>;
    const valid = typeof parsed.finishedAt === 'string' && typeof parsed.metrics === 'object' && parsed.metrics !== null;
    return valid ? (parsed as LastRun) : null;
  } catch {
    return null;
  }
}
