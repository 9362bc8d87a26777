// The parts of the memory folder that pipeline code owns (shared spec §3): rollout_summaries/*.md and
// raw_memories.md. Formats must match Codex byte for byte, because the consolidation agent and
// existing memory folders were shaped by Codex's files. MEMORY.md, memory_summary.md and skills/
// belong to the agent and the person; pipeline code only deletes them when there is nothing left to remember.
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

/** Codex 0.169 keeps the first 60 characters of the slug (every kept char is one ASCII byte). */
const SLUG_MAX_CHARS = 60;
const BASE62 = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const UUID_V7 = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{4}([0-9a-f]{8})$/i;

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

/** The v1 root; prefer the resolved layout (layout.ts), which knows about v2. */
export function memoryRoot(codexHome: string): string {
  return join(codexHome, 'memories');
}

type StemSource = Pick<Stage1Output, 'threadId' | 'sourceUpdatedAt' | 'rolloutSlug'>;

/**
 * File stem of a thread's rollout summary as Codex 0.169 names it (§3.3 of codex-observed):
 * `<creation time YYYY-MM-DDThh-mm-ss>-<4 base-62 chars>[-<slug>]`. The time comes from the UUIDv7 id (else
 * the snapshot time) and the four chars from its low 32 bits, so the name is stable across runs. Every part
 * keeps only [A-Za-z0-9_-], so a hostile row can never name a file outside rollout_summaries/.
 */
export function rolloutSummaryStem(output: StemSource): string {
  if (output.threadId === '') throw new Error('thread id is empty; cannot name its rollout summary file');
  const v7 = UUID_V7.exec(output.threadId);
  const v7Ms = v7 ? Number.parseInt(`${v7[1]}${v7[2]}`, 16) : Number.NaN;
  const createdMs = [v7Ms, Math.floor(output.sourceUpdatedAt) * 1000].find(isFourDigitYear) ?? 0;
  const stamp = new Date(createdMs).toISOString().slice(0, 19).replaceAll(':', '-');
  // Not a UUID (hand-made or corrupted ids): a hash of the whole id stands in for its low bits.
  const low32 = v7 ? Number.parseInt(v7[3]!, 16) : createHash('sha256').update(output.threadId).digest().readUInt32BE(0);
  const slug = output.rolloutSlug === null ? '' : sanitizeSlug(output.rolloutSlug);
  return slug === '' ? `${stamp}-${base62(low32)}` : `${stamp}-${base62(low32)}-${slug}`;
}

/** A time ISO 8601 writes as YYYY-…: a forged id can hold one past 9999, written `+010252-…`. */
function isFourDigitYear(ms: number): boolean {
  return Number.isFinite(ms) && ms >= 0 && ms < Date.UTC(10_000, 0, 1);
}

/** Four base-62 digits of `value mod 62^4`, most significant first. */
function base62(value: number): string {
  let rest = value % 62 ** 4;
  let out = '';
  for (let i = 0; i < 4; i++) {
    out = BASE62[rest % 62] + out;
    rest = Math.floor(rest / 62);
  }
  return out;
}

function sanitizeSlug(raw: string): string {
  let out = '';
  // for…of walks code points, like Rust's chars(): an emoji becomes one `_`, not two.
  for (const ch of raw.trim()) {
    if (out.length >= SLUG_MAX_CHARS) break;
    out += /^[A-Za-z0-9]$/.test(ch) ? ch.toLowerCase() : '_';
  }
  return out;
}

/** A stored value written into a header line: a newline in it must not forge another header. */
export function oneLine(value: string): string {
  return value.replace(/[\p{Cc}\u2028\u2029]/gu, ' ');
}

/** Unix seconds → chrono's RFC 3339 form: UTC, whole seconds, `+00:00` (never `Z`). */
export function formatRfc3339(seconds: number): string {
  return `${new Date(Math.floor(seconds) * 1000).toISOString().slice(0, 19)}+00:00`;
}

/** Body of rollout_summaries/<stem>.md: Codex 0.169's header (git_branch only when known), then the summary as stored. */
export function renderRolloutSummary(output: Stage1Output): string {
  const branch = output.gitBranch ? `git_branch: ${oneLine(output.gitBranch)}\n` : '';
  return (
    `thread_id: ${oneLine(output.threadId)}\nupdated_at: ${formatRfc3339(output.sourceUpdatedAt)}\n` +
    `rollout_path: ${oneLine(output.rolloutPath)}\ncwd: ${oneLine(output.cwd)}\n${branch}\n${output.rolloutSummary}\n`
  );
}

/** Byte order, as SQLite compares text: stable whatever order the store returned. */
const byThreadId = (a: Stage1Output, b: Stage1Output) => (a.threadId < b.threadId ? -1 : a.threadId > b.threadId ? 1 : 0);

/** Body of raw_memories.md (v1 only), in ascending thread-id order as Codex 0.169 writes it. */
export function renderRawMemories(outputs: Stage1Output[]): string {
  if (outputs.length === 0) return EMPTY_RAW_MEMORIES;
  let body = '# Raw Memories\n\nMerged stage-1 raw memories (stable ascending thread-id order):\n\n';
  for (const output of [...outputs].sort(byThreadId)) {
    body +=
      `## Thread \`${oneLine(output.threadId)}\`\nupdated_at: ${formatRfc3339(output.sourceUpdatedAt)}\n` +
      `cwd: ${oneLine(output.cwd)}\nrollout_path: ${oneLine(output.rolloutPath)}\n` +
      `rollout_summary_file: ${rolloutSummaryStem(output)}.md\n\n${output.rawMemory.trim()}\n\n`;
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
  /**
   * The consolidated memory holds what the person wrote (a note's content, a hand edit): with nothing retained it
   * stays for the agent to revise, instead of going with the last input (step 5 predates notes and hand edits).
   */
  keepConsolidated?: boolean;
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
      kept.set(rolloutSummaryStem(output), output);
    }
  } catch (cause) {
    failAs(step)(cause);
  }
  await pruneSummaries(summariesDir, new Set(kept.keys()), warn);
  await pool([...kept], SUMMARY_WRITERS, async ([stem, output]) => {
    const path = join(summariesDir, `${stem}.md`);
    await writeIfChanged(path, renderRolloutSummary(output)).catch(failAs(step, `cannot write ${path}`));
  });

  if (kept.size === 0 && !input.keepConsolidated) await removeConsolidatedMemory(root);
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

/**
 * The size MEMORY.md must stay under; the consolidation prompt states the same number. Codex users report
 * a 325 KB handbook of near-identical entries (openai/codex#29818), which no agent greps usefully.
 */
export const MEMORY_MD_BUDGET_BYTES = 64 * 1024;
/** Codex 0.169 asks for a memory_summary.md comfortably under this many UTF-8 bytes. */
export const MEMORY_SUMMARY_BUDGET_BYTES = 10_000;
/** The exact first line Codex requires of memory_summary.md (it checks it after the agent). */
export const MEMORY_SUMMARY_FIRST_LINE = 'v1';

export type ConsolidationCheck = { ok: true; warnings: string[] } | { ok: false; reason: string };

/**
 * Did the agent leave a memory Codex will load? As Codex does after its agent: memory_summary.md must
 * start with the line `v1`, and in v1 MEMORY.md must exist. A MEMORY.md over its budget fails the job
 * too: a warning would let it grow run after run, while a failed job is retried on the same inputs,
 * giving the agent (told the budget again) the chance to merge it down, and shows in `status`.
 */
export async function validateConsolidation(root: string, version: 'v1' | 'v2' = 'v1'): Promise<ConsolidationCheck> {
  const warnings: string[] = [];
  const files = version === 'v1' ? [MEMORY_FILE, MEMORY_SUMMARY_FILE] : [MEMORY_SUMMARY_FILE];
  for (const name of files) {
    const read = await readAgentFile(join(root, name), name);
    if (typeof read !== 'string') return read;
    const bytes = Buffer.byteLength(read);
    if (read.trim() === '') return { ok: false, reason: `${name} is empty` };
    if (name === MEMORY_FILE && bytes > MEMORY_MD_BUDGET_BYTES) {
      return { ok: false, reason: `${name} is ${bytes} bytes, over its ${MEMORY_MD_BUDGET_BYTES}-byte budget` };
    }
    if (name !== MEMORY_SUMMARY_FILE) continue;
    if (read.split('\n', 1)[0] !== MEMORY_SUMMARY_FIRST_LINE) {
      return { ok: false, reason: `${name} does not start with the line ${MEMORY_SUMMARY_FIRST_LINE}` };
    }
    // Only a warning: the read path cuts the summary to its token limit anyway.
    if (bytes > MEMORY_SUMMARY_BUDGET_BYTES) warnings.push(`${name} is ${bytes} bytes, over ${MEMORY_SUMMARY_BUDGET_BYTES}`);
  }
  return { ok: true, warnings };
}

async function readAgentFile(path: string, name: string): Promise<string | { ok: false; reason: string }> {
  try {
    return (await readRegularFile(path)).toString('utf8');
  } catch (error) {
    if (codeOf(error) === 'ENOENT') return { ok: false, reason: `${name} is missing` };
    if (error instanceof UnsafeFileError) return { ok: false, reason: `${name} is not a regular file` };
    return { ok: false, reason: `${name} cannot be read: ${describe(error)}` };
  }
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
