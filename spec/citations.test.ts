// Memory citations in assistant replies (services/rollouts/citations.ts).
import { describe, expect, it } from 'vitest';
import { citedThreadIds } from '../services/rollouts/citations.ts';

const A = '019a93b9-f380-7600-98ff-940e6b99603c';
const B = '019c8a70-dda7-7f33-98ea-f30553347322';

describe('citedThreadIds', () => {
  it('reads the ids of <rollout_ids> and of cited rollout summaries, once each', () => {
    const reply = [
      'The build needs `make ci`.',
      '<oai-mem-citation>',
      '<citation_entries>',
      'MEMORY.md:12-18|note=[build command]',
      `rollout_summaries/${B}-fix_ci.md:3-9|note=[earlier fix]`,
      '</citation_entries>',
      '<rollout_ids>',
      A,
      B.toUpperCase(),
      '</rollout_ids>',
      '</oai-mem-citation>',
    ].join('\n');
    expect(citedThreadIds(reply)).toEqual([A, B]);
  });

  it('accepts <thread_ids>, comma-separated lists and several blocks', () => {
    const reply = `<oai-mem-citation><thread_ids>${A}, ${B}</thread_ids></oai-mem-citation> and later <oai-mem-citation><rollout_ids>${A}</rollout_ids></oai-mem-citation>`;
    expect(citedThreadIds(reply)).toEqual([A, B]);
  });

  it('ignores ids outside a citation block, in an unclosed block, and things that are not ids', () => {
    expect(citedThreadIds(`session ${A} was about CI`)).toEqual([]);
    expect(citedThreadIds(`<oai-mem-citation><rollout_ids>${A}</rollout_ids>`)).toEqual([]);
    expect(citedThreadIds('<oai-mem-citation><rollout_ids>not-an-id 1234</rollout_ids></oai-mem-citation>')).toEqual([]);
  });

  // A quadratic scan would not finish within the test's timeout.
  it('finds nothing in hostile text with many openings and no close', () => {
    const text = '<oai-mem-citation><rollout_ids>'.repeat(50_000);
    expect(citedThreadIds(text)).toEqual([]);
  });
});
