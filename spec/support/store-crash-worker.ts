// A process that is killed with SIGKILL by spec/store-crash.test.ts.
// argv: <store dir> <mode: loop|hold> [first index]
//   loop — extracts thread-<i>, thread-<i+1>, … as fast as it can, reporting { done: i } after
//          each completed success (so the parent knows which writes must survive);
//   hold — takes the jobs.json lock, reports 'locked' and never lets go.
import path from 'node:path';
import { withFileLock } from '../../services/store/file-lock.ts';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import type { ThreadInfo } from '../../services/types.ts';

const [dir, mode, firstText] = process.argv.slice(2);

if (mode === 'hold') {
  void withFileLock(path.join(dir!, 'jobs.json'), async () => {
    process.send!('locked');
    // Until SIGKILL. The lock's own refresh timer is unref'd and the IPC channel does not keep a
    // child alive either: without a live handle the process would exit and remove its lock.
    setInterval(() => undefined, 60_000);
    await new Promise(() => undefined);
  });
} else {
  const store = createLowdbStore({ dir: dir! });
  const body = 'x'.repeat(4_000); // a realistic memory size, so writes take a while
  for (let i = Number(firstText ?? 0); ; i += 1) {
    const thread: ThreadInfo = {
      threadId: `thread-${String(i).padStart(5, '0')}`,
      rolloutPath: `/sessions/${i}.jsonl`,
      cwd: '/work',
      source: 'cli',
      updatedAt: 1_000 + i,
      createdAt: null,
      hasUserMessage: true,
      sizeBytes: 1,
    };
    const claim = await store.tryClaimStage1Job(thread, 'crash-worker', 3_600, 1_000_000);
    if (claim.kind !== 'claimed') throw new Error(`unexpected ${claim.kind}`);
    await store.markStage1Succeeded(
      thread,
      claim.ownershipToken,
      { rawMemory: `${i} ${body}`, rolloutSummary: 's', rolloutSlug: null },
      null,
    );
    process.send!({ done: i });
  }
}
