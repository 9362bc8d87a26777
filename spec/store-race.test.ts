// Four real processes race for the jobs of one store: the file lock makes every job go to
// exactly one of them, and the files stay valid JSON.
import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTestStore, type TestStore } from './support/store-fixtures.ts';

const WORKER = fileURLToPath(new URL('./support/store-race-worker.ts', import.meta.url));
const CANDIDATES = 200;

let t: TestStore;
beforeEach(async () => {
  t = await makeTestStore();
});
afterEach(async () => {
  await t.cleanup();
});

interface WorkerReport {
  claims: string[];
  errors: string[];
}

async function race(mode: 'batch' | 'single', workers = 4): Promise<WorkerReport[]> {
  const children = Array.from({ length: workers }, (_, i) =>
    fork(WORKER, [t.dir, mode, String(CANDIDATES), `worker-${i}`], { execArgv: ['--import', 'tsx'], stdio: 'inherit' }),
  );
  // Start them together, once all have loaded, so they really contend.
  await Promise.all(children.map((child) => new Promise((resolve) => child.once('message', resolve))));
  const reports = children.map(
    (child) =>
      new Promise<WorkerReport>((resolve, reject) => {
        child.once('message', (report) => resolve(report as WorkerReport));
        child.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
      }),
  );
  for (const child of children) child.send('go');
  return Promise.all(reports);
}

async function expectEveryJobClaimedOnce(reports: WorkerReport[]) {
  expect(reports.flatMap((r) => r.errors)).toEqual([]);
  console.info(`claims per worker: ${reports.map((r) => r.claims.length).join(', ')}`);
  const claimed = reports.flatMap((r) => r.claims);
  expect(claimed).toHaveLength(CANDIDATES);
  expect(new Set(claimed).size).toBe(CANDIDATES);

  // Both files parse, and hold one finished job and one output per thread.
  JSON.parse(await readFile(path.join(t.dir, 'jobs.json'), 'utf8'));
  JSON.parse(await readFile(path.join(t.dir, 'outputs.json'), 'utf8'));
  const status = await t.store.status();
  expect(status.jobs).toHaveLength(CANDIDATES);
  expect(status.jobs.every((j) => j.status === 'done')).toBe(true);
  expect(status.outputs).toHaveLength(CANDIDATES);
  expect(status.globalJob?.inputWatermark).toBeGreaterThanOrEqual(1_000 + CANDIDATES - 1);
}

describe('four processes racing for one store', () => {
  it('claim every job exactly once with overlapping batch passes', async () => {
    await expectEveryJobClaimedOnce(await race('batch'));
  });

  it('claim every job exactly once with single claims', async () => {
    await expectEveryJobClaimedOnce(await race('single'));
  });
});
