// The human summary of `memories run`: lines a person reads after the run, built from the coordinator's output.
import { describe, expect, it } from 'vitest';
import type { CoordinatorOutput } from '../machines/coordinator.ts';
import type { ConsolidationOutput } from '../machines/consolidation.ts';
import { formatSummary } from '../scripts/commands/run-summary.ts';

const phase2 = (extra: Partial<ConsolidationOutput>): ConsolidationOutput => ({
  status: 'succeeded',
  reason: null,
  selected: 3,
  added: 1,
  retained: 2,
  removed: 0,
  attempts: 1,
  usage: null,
  turns: 2,
  revision: 'a'.repeat(40),
  workspace: null,
  handEditsRestored: [],
  unfinishedRunUndone: null,
  ...extra,
});
const summary = (p2: ConsolidationOutput) =>
  formatSummary({ phase1: null, phase2: p2 } as CoordinatorOutput, 12, '/home/me/.codex').split('\n');

describe('run summary', () => {
  it('says when it first put back a folder a killed consolidation had half-written, naming the kept tree', () => {
    const tree = '0123456789abcdef0123456789abcdef01234567';
    const lines = summary(phase2({ unfinishedRunUndone: tree }));
    expect(lines).toContain(
      'a consolidation killed before it finished had left the memory folder half-written: put back as it was ' +
        "before that run (what it had written is kept in the folder's .git as tree 0123456789ab)",
    );
    expect(lines.indexOf(lines.find((l) => l.startsWith('a consolidation killed'))!)).toBe(
      lines.findIndex((l) => l.startsWith('phase 2: ')) + 1,
    );
  });

  it('says nothing of the sort after an ordinary consolidation', () => {
    expect(summary(phase2({})).join('\n')).not.toMatch(/killed|half-written/);
  });
});
