// Shared fixtures for the store specs: a real store in a fresh temp dir with a hand-driven clock.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import type { MemoryStore } from '../../services/store/port.ts';
import type { Stage1Reply, ThreadInfo } from '../../services/types.ts';

export const START_SECONDS = 1_700_000_000;
export const LEASE = 3_600;

export interface TestStore {
  dir: string;
  store: MemoryStore;
  /** Another handle on the same files, as a second process would have. */
  reopen(): MemoryStore;
  /** Current fake time in Unix seconds. */
  now(): number;
  advance(seconds: number): void;
  cleanup(): Promise<void>;
}

export async function makeTestStore(): Promise<TestStore> {
  const root = await mkdtemp(path.join(tmpdir(), 'memories-store-'));
  const dir = path.join(root, 'memories_state');
  let ms = START_SECONDS * 1000;
  const now = () => ms;
  return {
    dir,
    store: createLowdbStore({ dir, now }),
    reopen: () => createLowdbStore({ dir, now }),
    now: () => Math.floor(ms / 1000),
    advance(seconds) {
      ms += seconds * 1000;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

export function thread(threadId: string, updatedAt: number, extra: Partial<ThreadInfo> = {}): ThreadInfo {
  return {
    threadId,
    rolloutPath: `/home/u/.codex/sessions/rollout-${threadId}.jsonl`,
    cwd: `/work/${threadId}`,
    source: 'cli',
    updatedAt,
    createdAt: updatedAt - 60,
    hasUserMessage: true,
    sizeBytes: 1024,
    ...extra,
  };
}

export function reply(rawMemory: string, rolloutSummary = `summary of ${rawMemory}`): Stage1Reply {
  return { rawMemory, rolloutSummary, rolloutSlug: null };
}

/** Claims a thread and asserts it worked; returns the token. */
export async function claim(store: MemoryStore, t: ThreadInfo, worker = 'worker-a', maxRunning = 64): Promise<string> {
  const result = await store.tryClaimStage1Job(t, worker, LEASE, maxRunning);
  if (result.kind !== 'claimed') throw new Error(`expected a claim of ${t.threadId}, got ${result.kind}`);
  return result.ownershipToken;
}

/** Claims and succeeds with an output, as one phase-1 job would. */
export async function extract(store: MemoryStore, t: ThreadInfo, memory = `memory of ${t.threadId}`): Promise<void> {
  const token = await claim(store, t);
  if (!(await store.markStage1Succeeded(t, token, reply(memory), null))) throw new Error('success refused');
}

/** Enqueues, claims and succeeds the global job at `watermark`, as one phase 2 would. */
export async function consolidate(store: MemoryStore, watermark: number): Promise<void> {
  await store.enqueueGlobalConsolidation(watermark);
  const result = await store.claimGlobalJob('worker-a', LEASE);
  if (result.kind !== 'claimed') throw new Error(`expected a global claim, got ${result.kind}`);
  if (!(await store.markGlobalSucceeded(result.ownershipToken, watermark, [], null))) throw new Error('success refused');
}
