// Memory citations: a reply that used memory ends in an `<oai-mem-citation>` block (as Codex's citations.rs reads);
// each cited thread's memory counts as used, ranking it higher in phase 2 and keeping it from being forgotten.
//
//   <oai-mem-citation>
//   <citation_entries>
//   rollout_summaries/019a93b9-…-fix_ci.md:3-9|note=[the earlier fix]
//   </citation_entries>
//   <rollout_ids>
//   019a93b9-f380-7600-98ff-940e6b99603c
//   </rollout_ids>
//   </oai-mem-citation>
// Ids come from `<rollout_ids>` / `<thread_ids>` and summary paths; indexOf scanning keeps hostile text fast.

const OPEN = '<oai-mem-citation>';
const CLOSE = '</oai-mem-citation>';
const THREAD_ID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const ID_SECTIONS = /<(rollout_ids|thread_ids)>([^<]*)<\/\1>/g;
const SUMMARY_PATH = /rollout_summaries\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/gi;

/** Thread ids cited by the citation blocks in `text`, lower-case, each once, in order of appearance. */
export function citedThreadIds(text: string): string[] {
  const ids = new Set<string>();
  for (let start = text.indexOf(OPEN); start !== -1; ) {
    const end = text.indexOf(CLOSE, start + OPEN.length);
    if (end === -1) break; // an unclosed block (a cut-off reply) cites nothing
    const block = text.slice(start + OPEN.length, end);
    for (const [, , list] of block.matchAll(ID_SECTIONS)) {
      for (const [id] of list!.matchAll(THREAD_ID)) ids.add(id.toLowerCase());
    }
    for (const [, id] of block.matchAll(SUMMARY_PATH)) ids.add(id!.toLowerCase());
    start = text.indexOf(OPEN, end + CLOSE.length);
  }
  return [...ids];
}
