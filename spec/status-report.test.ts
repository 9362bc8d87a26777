// `memories status` as a person reads it: times absolute and relative to now, the jobs that need attention
// (failed, or running on a lease that ran out) first, and --limit keeping the table short.
import { describe, expect, it } from 'vitest';
import { formatStatus, statusReport } from '../scripts/commands/status.ts';
import type { MemoryLayout } from '../services/memory-folder/layout.ts';
import type { StoreStatus } from '../services/store/port.ts';
import type { JobRow } from '../services/types.ts';

const NOW_MS = Date.parse('2026-03-01T12:00:00Z');
const now = NOW_MS / 1000;
const layout = { version: 'v1', root: '/home/me/.codex/memories', reason: 'test' } as MemoryLayout;

function job(jobKey: string, fields: Partial<JobRow>): JobRow {
  return {
    kind: 'memory_stage1',
    jobKey,
    status: 'done',
    workerId: null,
    ownershipToken: null,
    startedAt: null,
    finishedAt: null,
    leaseUntil: null,
    retryAt: null,
    retryRemaining: 3,
    lastError: null,
    inputWatermark: null,
    lastSuccessWatermark: null,
    ...fields,
  };
}

const status: StoreStatus = {
  jobs: [
    job('a-done', {}),
    job('b-done', {}),
    job('c-live', { status: 'running', workerId: 'w1', leaseUntil: now + 120 }),
    job('d-pending', { status: 'pending' }),
    job('e-stale', { status: 'running', workerId: 'w2', leaseUntil: now - 600 }),
    job('f-failed', { status: 'error', lastError: 'HTTP 500', retryAt: now + 3600, retryRemaining: 2 }),
  ],
  globalJob: job('global', {
    kind: 'memory_consolidate_global',
    inputWatermark: now - 7200,
    lastSuccessWatermark: now - 86_400 * 3,
    finishedAt: now - 300,
  }),
  outputs: [],
  lastSelection: [],
};
const report = statusReport(status, '/home/me/.codex/memories_state', layout, null, NOW_MS);
const rows = (text: string) => text.split('\n').filter((line) => /^[a-f]-\w+\s/.test(line));

describe('memories status', () => {
  it('shows the watermark and the last consolidation as times, absolute and relative', () => {
    const text = formatStatus(report);
    expect(text).toMatch(
      /^watermark\s+input 2026-03-01T10:00:00Z \(2h ago\), consolidated 2026-02-26T12:00:00Z \(3d ago\) \(dirty/m,
    );
    expect(text).toMatch(/^last consolidation\s+succeeded at 2026-03-01T11:55:00Z \(5m ago\)/m);
  });

  it('lists failed jobs and running jobs with an expired lease first', () => {
    expect(rows(formatStatus(report)).map((line) => line.split(/\s{2,}/).slice(0, 2))).toEqual([
      ['f-failed', 'error'],
      ['e-stale', 'running (lease expired)'],
      ['d-pending', 'pending'],
      ['c-live', 'running'],
      ['a-done', 'done'],
      ['b-done', 'done'],
    ]);
    expect(report.stage1.jobs.map((j) => j.jobKey).slice(0, 2)).toEqual(['f-failed', 'e-stale']);
  });

  it('gives a lease end and a retry time relative to now in the job rows', () => {
    const [failed, , , live] = rows(formatStatus(report));
    expect(failed).toContain('2026-03-01T13:00:00Z (in 60m)');
    expect(live).toContain('2026-03-01T12:02:00Z (in 2m)');
  });

  it('keeps --limit rows and says how many it left out', () => {
    const text = formatStatus(report, 2);
    expect(rows(text).map((line) => line.split(' ')[0])).toEqual(['f-failed', 'e-stale']);
    expect(text).toMatch(/^… 4 more job\(s\): --limit 6 shows them all, --json lists them$/m);
  });
});
