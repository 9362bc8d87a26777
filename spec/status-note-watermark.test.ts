// Right after `memories note`, status shows the input watermark as now, not a second in the future: the note's
// watermark is rounded up to the next second (so it outranks a rollout of that second), and the view allows for it.
import { describe, expect, it } from 'vitest';
import { formatStatus, statusReport } from '../scripts/commands/status.ts';
import type { MemoryLayout } from '../services/memory-folder/layout.ts';
import { noteWatermark } from '../services/memory-folder/notes.ts';
import { memories } from './support/cli.ts';
import { memoryHomePerTest } from './support/memory-home.ts';
import { consolidate, makeTestStore } from './support/store-fixtures.ts';

const layout = { version: 'v1', root: '/home/me/.codex/memories', reason: 'test' } as MemoryLayout;

/** The status view's watermark line at `nowMs`, for a store consolidated a minute before a note written at `noteMs`. */
const watermarkLine = async (nowMs: number, noteMs: number) => {
  const consolidated = Math.floor(noteMs / 1000) - 60;
  const { store, cleanup } = await makeTestStore();
  try {
    await consolidate(store, consolidated);
    await store.enqueueGlobalConsolidation(noteWatermark(noteMs));
    const text = formatStatus(statusReport(await store.status(), 'store', layout, null, nowMs));
    return text.split('\n').find((line) => line.startsWith('watermark'));
  } finally {
    await cleanup();
  }
};

describe('the input watermark of a note just written', () => {
  it('reads as now within the same second, and the consolidation is still due', async () => {
    const noteMs = Date.parse('2026-03-01T12:00:00.300Z');
    expect(await watermarkLine(noteMs + 400, noteMs)).toMatch(/^watermark\s+input 2026-03-01T12:00:01Z \(now\), .* \(dirty/);
  });

  it('reads as the past once that second is over, and a real future stays in the future', async () => {
    const noteMs = Date.parse('2026-03-01T12:00:00.300Z');
    expect(await watermarkLine(noteMs + 3_000, noteMs)).toMatch(/input 2026-03-01T12:00:01Z \(2s ago\)/);
    expect(await watermarkLine(noteMs - 5_000, noteMs)).toMatch(/input 2026-03-01T12:00:01Z \(in 6s\)/);
  });
});

describe('memories status after memories note', () => {
  const t = memoryHomePerTest();

  it('never shows the input watermark in the future', async () => {
    expect((await memories(['note', '--codex-home', t.home, 'the staging database moved'])).code).toBe(0);
    const { code, stdout } = await memories(['status', '--codex-home', t.home]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^watermark\s+input \S+ \((now|\d+s ago)\), consolidated none \(dirty/m);
  });
});
