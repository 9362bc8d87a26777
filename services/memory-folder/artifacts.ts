// The parts of the memory folder that pipeline code owns (shared spec §3): rollout_summaries/*.md and
// raw_memories.md. Formats must match Codex byte for byte, because the consolidation agent and
// existing memory folders were shaped by Codex's files. MEMORY.md, memory_summary.md and skills/
// belong to the agent; pipeline code only deletes them when there is nothing left to remember.
import { createHash } from 'node:crypto';
import { readdir, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureDir, sweepOrphanedTemps, writeFileAtomic } from '../files/atomic-write.ts';
import { openRegularFile, readRegularFile, UnsafeFileError } from '../files/regular-file.ts';
import { pool } from '../pool.ts';
import type { Stage1Output } from '../types.ts';

export const ROLLOUT_SUMMARIES_DIR = 'rollout_summaries';
export const RAW_MEMORIES_FILE = 'raw_memories.md';
export const MEMORY_FILE = 'MEMORY.md';
export const MEMORY_SUMMARY_FILE = 'memory_summary.md';
export const SKILLS_DIR = 'skills';

/** Codex caps the slug part of a summary file name at 20 bytes (every kept char is one ASCII byte). */
const SLUG_MAX_BYTES = 20;
// With the slug, ".md" and the atomic writer's temp suffix (~50 bytes), the name stays under 255.
const THREAD_ID_MAX_CHARS = 160;

export const EMPTY_RAW_MEMORIES = '# Raw Memories\n\nNo raw memories yet.\n';

export type ArtifactStep = 'failed_sync_artifacts' | 'failed_rebuild_raw_memories';

/** A phase-2 file step failed; `step` is the job's failure reason and metric status. */
export class ArtifactSyncError extends Error {
  constructor(
    readonly step: ArtifactStep,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(`${step}: ${message}`, options);
    this.name = 'ArtifactSyncError';
  }
}

export function memoryRoot(codexHome: string): string {
  return join(codexHome, 'memories');
}

/**
 * File stem of a thread's rollout summary: `<thread_id>` or `<thread_id>-<slug>` (§3.2). Both parts
 * keep only [A-Za-z0-9_-], so a hostile row can never name a file outside rollout_summaries/.
 */
export function rolloutSummaryStem(threadId: string, slug: string | null): string {
  const id = safeThreadId(threadId);
  const cleanSlug = slug === null ? '' : sanitizeSlug(slug);
  return cleanSlug === '' ? id : `${id}-${cleanSlug}`;
}

function sanitizeSlug(raw: string): string {
  let out = '';
  // for…of walks code points, like Rust's chars(): an emoji becomes one `_`, not two.
  for (const ch of raw) {
    if (out.length >= SLUG_MAX_BYTES) break;
    out += /^[A-Za-z0-9]$/.test(ch) ? ch.toLowerCase() : '_';
  }
  // Only trailing underscores go; leading ones are kept, as in Codex.
  return out.replace(/_+$/, '');
}

function safeThreadId(threadId: string): string {
  // Real ids are lowercase hyphenated UUIDs and pass through unchanged.
  const mapped = threadId.replace(/[^A-Za-z0-9_-]/g, '_');
  if (mapped === '') throw new Error('thread id is empty; cannot name its rollout summary file');
  if (mapped.length <= THREAD_ID_MAX_CHARS) return mapped;
  // A hash of the whole id keeps two long ids with the same head apart.
  const hash = createHash('sha256').update(threadId).digest('hex').slice(0, 16);
  return `${mapped.slice(0, THREAD_ID_MAX_CHARS - hash.length - 1)}_${hash}`;
}

/** A stored value written into a header line: a newline in it must not forge another header. */
export function oneLine(value: string): string {
  return value.replace(/[\p{Cc}\u2028\u2029]/gu, ' ');
}

/** Unix seconds → chrono's RFC 3339 form: UTC, whole seconds, `+00:00` (never `Z`). */
export function formatRfc3339(seconds: number): string {
  return `${new Date(Math.floor(seconds) * 1000).toISOString().slice(0, 19)}+00:00`;
}

// The header lines both formats share after the thread id, and the blank line ending the header.
function headerTail(output: Stage1Output): string {
  return `updated_at: ${formatRfc3339(output.sourceUpdatedAt)}\ncwd: ${oneLine(output.cwd)}\n\n`;
}

/** Body of rollout_summaries/<stem>.md (§3.3). The summary is kept exactly as stored. */
export function renderRolloutSummary(output: Stage1Output): string {
  return `thread_id: ${oneLine(output.threadId)}\n${headerTail(output)}${output.rolloutSummary}\n`;
}

/** Body of raw_memories.md (§3.4), in the order given (the caller passes DB order, latest first). */
export function renderRawMemories(outputs: Stage1Output[]): string {
  if (outputs.length === 0) return EMPTY_RAW_MEMORIES;
  let body = '# Raw Memories\n\nMerged stage-1 raw memories (latest first):\n\n';
  for (const output of outputs) {
    body += `## Thread \`${oneLine(output.threadId)}\`\n${headerTail(output)}${output.rawMemory.trim()}\n\n`;
  }
  return body;
}

export interface SyncArtifactsInput {
  /** This run's inputs: their summaries are written and they count as "something to remember". */
  retained: Stage1Output[];
  /** Outputs dropped since the last success (§4.6): kept on disk as evidence the agent must forget. */
  keepAlso?: Stage1Output[];
  /** Where non-fatal problems go (a stale summary that could not be deleted). */
  warn?: (message: string) => void;
}

/** §3.5 steps 1–5. Throws ArtifactSyncError('failed_sync_artifacts') on any fatal problem. */
export async function syncArtifacts(root: string, input: SyncArtifactsInput): Promise<void> {
  const warn = input.warn ?? ((message: string) => console.warn(message));
  const step = 'failed_sync_artifacts' as const;
  const summariesDir = await ensureLayout(root, step);
  // A process killed mid-write (ours or the agent's) leaves dot-temp files; remove the dead ones.
  await sweepOrphanedTemps(root, { recursive: true });
  // Dedupe by stem; a retained output wins over a removed one with the same stem.
  const kept = new Map<string, Stage1Output>();
  try {
    for (const output of [...(input.keepAlso ?? []), ...input.retained]) {
      kept.set(rolloutSummaryStem(output.threadId, output.rolloutSlug), output);
    }
  } catch (cause) {
    failAs(step)(cause);
  }
  await pruneSummaries(summariesDir, new Set(kept.keys()), warn);
  await pool([...kept], SUMMARY_WRITERS, async ([stem, output]) => {
    const path = join(summariesDir, `${stem}.md`);
    await writeIfChanged(path, renderRolloutSummary(output)).catch(failAs(step, `cannot write ${path}`));
  });

  if (kept.size === 0) await removeConsolidatedMemory(root);
}

/** §3.5 step 6: rewrite raw_memories.md from the retained outputs only. */
export async function rebuildRawMemories(root: string, retained: Stage1Output[]): Promise<void> {
  const step = 'failed_rebuild_raw_memories' as const;
  await ensureLayout(root, step);
  const path = join(root, RAW_MEMORIES_FILE);
  await writeIfChanged(path, renderRawMemories(retained)).catch(failAs(step, `cannot write ${path}`));
}

/** Summary files written at once: each write fsyncs, so a few in flight hide the disk's latency. */
const SUMMARY_WRITERS = 8;

/**
 * Most summaries are unchanged from one run to the next; comparing is a read, rewriting is two
 * fsyncs. Anything but a single-link regular file is replaced, never read or written through.
 */
async function writeIfChanged(path: string, text: string): Promise<void> {
  const size = Buffer.byteLength(text);
  const handle = await openRegularFile(path, { singleLink: true, maxBytes: size }).catch(() => null);
  try {
    const info = await handle?.stat();
    if (handle && info?.size === size && (await handle.readFile('utf8')) === text) {
      // Unchanged, but a folder made by someone else may have left it readable to others.
      if ((info.mode & 0o777) !== 0o600) await handle.chmod(0o600);
      return;
    }
  } finally {
    await handle?.close();
  }
  await writeFileAtomic(path, text);
}

export type ConsolidationCheck = { ok: true } | { ok: false; reason: string };

/** Did the agent leave a usable memory behind? Both agent-owned files must hold some text. */
export async function validateConsolidation(root: string): Promise<ConsolidationCheck> {
  for (const name of [MEMORY_FILE, MEMORY_SUMMARY_FILE]) {
    let text: string;
    try {
      text = (await readRegularFile(join(root, name))).toString('utf8');
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return { ok: false, reason: `${name} is missing` };
      if (error instanceof UnsafeFileError) return { ok: false, reason: `${name} is not a regular file` };
      return { ok: false, reason: `${name} cannot be read: ${describe(error)}` };
    }
    if (text.trim() === '') return { ok: false, reason: `${name} is empty` };
  }
  return { ok: true };
}

// Step 1. Returns rollout_summaries/, which must not be a symlink: pruning and writing would act on
// another folder. The root may be one the user made. Both are tightened to 0700.
async function ensureLayout(root: string, step: ArtifactStep): Promise<string> {
  const summariesDir = join(root, ROLLOUT_SUMMARIES_DIR);
  await ensureDir(summariesDir).catch(failAs(step, `cannot prepare ${summariesDir}`));
  await ensureDir(root, { followLink: true }).catch(failAs(step, `cannot prepare ${root}`));
  return summariesDir;
}

// Step 3. Deleting a stale summary is housekeeping: failing to do it must not block consolidation.
async function pruneSummaries(dir: string, keep: Set<string>, warn: (message: string) => void): Promise<void> {
  for (const name of await readdir(dir).catch(failAs('failed_sync_artifacts', `cannot list ${dir}`))) {
    if (!name.endsWith('.md') || keep.has(name.slice(0, -'.md'.length))) continue;
    // unlink removes a symlink itself, never its target.
    await unlink(join(dir, name)).catch((error: unknown) => {
      if (codeOf(error) !== 'ENOENT') warn(`memories: could not prune stale summary ${join(dir, name)}: ${describe(error)}`);
    });
  }
}

// Step 5. With nothing left to remember, the agent's consolidated memory would describe threads that
// no longer exist, so it goes too.
async function removeConsolidatedMemory(root: string): Promise<void> {
  for (const name of [MEMORY_FILE, MEMORY_SUMMARY_FILE]) {
    const path = join(root, name);
    await unlink(path).catch((error: unknown) => {
      if (codeOf(error) !== 'ENOENT') failAs('failed_sync_artifacts', `cannot delete ${path}`)(error);
    });
  }
  const skills = join(root, SKILLS_DIR);
  // force ignores a missing tree; rm uses lstat, so a symlinked skills/ is unlinked, not followed.
  await rm(skills, { recursive: true, force: true }).catch(failAs('failed_sync_artifacts', `cannot remove ${skills}`));
}

/** A catch handler rethrowing as the step's ArtifactSyncError, prefixed with what failed. */
function failAs(step: ArtifactStep, what?: string): (cause: unknown) => never {
  return (cause) => {
    throw new ArtifactSyncError(step, what === undefined ? describe(cause) : `${what}: ${describe(cause)}`, { cause });
  };
}

function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
