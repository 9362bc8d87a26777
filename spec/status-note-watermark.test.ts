// Right after `memories note`, status shows the input watermark as now, not a second in the future: the note's
// watermark is rounded up to the next second (so it outranks a rollout of that second), and the view allows for it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { formatStatus, statusReport } from '../scripts/commands/status.ts';
import type { MemoryLayout } from '../services/memory-folder/layout.ts';
import { noteWatermark } from '../services/memory-folder/notes.ts';
import type { StoreStatus } from '../services/store/port.ts';
import type { JobRow } from '../services/types.ts';
import { memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

const layout = { version: 'v1', root: '/home/me/.codex/memories', reason: 'test' } as MemoryLayout;

function globalJob(inputWatermark: number, lastSuccessWatermark: number): JobRow {
  return {
    kind: 'memory_consolidate_global',
    jobKey: 'global',
    status: 'done',
    workerId: null,
    ownershipToken: null,
    startedAt: null,
    finishedAt: null,
    leaseUntil: null,
    retryAt: null,
    retryRemaining: 3,
    lastError: null,
    inputWatermark,
    lastSuccessWatermark,
  };
}

const watermarkLine = (nowMs: number, noteMs: number) => {
  const consolidated = Math.floor(noteMs / 1000) - 60;
  const status: StoreStatus = {
    jobs: [],
    globalJob: globalJob(noteWatermark(noteMs), consolidated),
    outputs: [],
    lastSelection: [],
  };
  const text = formatStatus(statusReport(status, 'store', layout, null, nowMs));
  return text.split('\n').find((line) => line.startsWith('watermark'));
};

describe('the input watermark of a note just written', () => {
  it('reads as now within the same second, and the consolidation is still due', () => {
    const noteMs = Date.parse('2026-03-01T12:00:00.300Z');
    expect(watermarkLine(noteMs + 400, noteMs)).toMatch(/^watermark\s+input 2026-03-01T12:00:01Z \(now\), .* \(dirty/);
  });

  it('reads as the past once that second is over, and a real future stays in the future', () => {
    const noteMs = Date.parse('2026-03-01T12:00:00.300Z');
    expect(watermarkLine(noteMs + 3_000, noteMs)).toMatch(/input 2026-03-01T12:00:01Z \(2s ago\)/);
    expect(watermarkLine(noteMs - 5_000, noteMs)).toMatch(/input 2026-03-01T12:00:01Z \(in 6s\)/);
  });
});

describe('memories status after memories note', () => {
  let home: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ home, cleanup } = await tempCodexHome());
  });
  afterEach(() => cleanup());

  it('never shows the input watermark in the future', async () => {
    expect((await memories(['note', '--codex-home', home, 'the staging database moved'])).code).toBe(0);
    const { code, stdout } = await memories(['status', '--codex-home', home]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^watermark\s+input \S+ \((now|\d+s ago)\), consolidated none \(dirty/m);
  });
});
