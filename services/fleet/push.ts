// `memories push`: a host's idle, eligible rollouts to a namespace of the fleet, redacted here first. Resumable and
// idempotent: what was confirmed is remembered (memories_fleet/push-state.json), and the server stores a content
// hash once, so an interrupted or repeated push uploads only what is missing. The remembered hashes spare reading
// and redacting unchanged rollouts again; whether the server still holds them is asked each push, in one call.
import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { loadMemoriesConfig } from '../config.ts';
import { INTERACTIVE_SOURCES } from '../constants.ts';
import { ensureDir, writeFileAtomic } from '../files/atomic-write.ts';
import { pool } from '../pool.ts';
import { discoverRollouts, selectEligible } from '../rollouts/discovery.ts';
import type { ThreadInfo } from '../types.ts';
import { type FleetClient, FleetApiError } from './fleet-client.ts';
import { redactedRollout } from './redacted-rollout.ts';

export interface PushOptions {
  client: FleetClient;
  /** The server URL and namespace, as keys of what was pushed before. */
  server: string;
  namespace: string;
  codexHome: string;
  hostId: string;
  /** Idle time before a rollout counts as finished; default min_rollout_idle_hours of config.toml. */
  idleMinutes?: number;
  /** The host's Codex version, for rollouts that do not record theirs. */
  codexVersion: string;
  now?: () => number;
}

export interface PushSummary {
  rolloutsFound: number;
  eligible: number;
  uploaded: number;
  alreadyStored: number;
  failed: Array<{ path: string; reason: string }>;
  /** Content hashes of every eligible rollout this push covered (uploaded or already there). */
  hashes: string[];
}

interface PushedEntry {
  mtimeMs: number;
  size: number;
  sha256: string;
}

const UPLOADS_IN_FLIGHT = 4;
const SAVE_EVERY = 20;

const stateFile = (codexHome: string) => join(codexHome, 'memories_fleet', 'push-state.json');

async function readState(codexHome: string): Promise<Record<string, PushedEntry>> {
  try {
    return JSON.parse(await readFile(stateFile(codexHome), 'utf8')) as Record<string, PushedEntry>;
  } catch {
    return {};
  }
}

export async function pushRollouts(options: PushOptions): Promise<PushSummary> {
  const config = await loadMemoriesConfig(options.codexHome);
  const found = await discoverRollouts(options.codexHome);
  const eligible = selectEligible(found.threads, {
    nowSeconds: Math.floor((options.now ?? Date.now)() / 1000),
    maxAgeDays: config.maxRolloutAgeDays,
    minIdleHours: config.minRolloutIdleHours,
    minIdleMinutes: options.idleMinutes,
    allowedSources: INTERACTIVE_SOURCES,
  });
  const state = await readState(options.codexHome);
  // What this host remembers pushing is checked with the server first: its database may have been reset or
  // restored since, and a revoked token must fail even when everything was pushed before.
  const confirmed = await storedOnServer(options, eligible, state);
  const summary: PushSummary = {
    rolloutsFound: found.filesSeen,
    eligible: eligible.length,
    uploaded: 0,
    alreadyStored: 0,
    failed: [],
    hashes: [],
  };
  let unsaved = 0;
  const save = async () => {
    await ensureDir(join(options.codexHome, 'memories_fleet'));
    await writeFileAtomic(stateFile(options.codexHome), JSON.stringify(state));
    unsaved = 0;
  };
  await pool(eligible, UPLOADS_IN_FLIGHT, async (thread) => {
    try {
      const sha256 = await pushOne(thread);
      summary.hashes.push(sha256);
      if (++unsaved >= SAVE_EVERY) await save();
    } catch (error) {
      // A refusal (4xx) concerns this rollout alone; the others still go.
      if (
        error instanceof FleetApiError &&
        error.status !== null &&
        error.status < 500 &&
        ![401, 403, 404].includes(error.status)
      ) {
        summary.failed.push({ path: thread.rolloutPath, reason: error.message });
        return;
      }
      throw error;
    }
  }).finally(save);
  return summary;

  /** Uploads one rollout unless the server has it; returns its hash. */
  async function pushOne(thread: ThreadInfo): Promise<string> {
    const opts = options;
    const key = stateKey(opts, thread);
    const st = await stat(thread.rolloutPath);
    const known = state[key];
    if (known && known.mtimeMs === st.mtimeMs && known.size === st.size && confirmed.has(known.sha256)) {
      summary.alreadyStored += 1;
      return known.sha256;
    }
    const redacted = await redactedRollout(thread.rolloutPath);
    if (await opts.client.has(redacted.sha256)) {
      summary.alreadyStored += 1;
    } else {
      const result = await opts.client.upload(
        {
          hostId: opts.hostId,
          namespace: opts.namespace,
          sessionId: thread.threadId,
          sha256: redacted.sha256,
          codexVersion: redacted.codexVersion ?? opts.codexVersion,
          fileName: basename(thread.rolloutPath),
          updatedAt: thread.updatedAt,
        },
        redacted.content,
      );
      if (result.stored) summary.uploaded += 1;
      else summary.alreadyStored += 1;
    }
    state[key] = { mtimeMs: st.mtimeMs, size: st.size, sha256: redacted.sha256 };
    return redacted.sha256;
  }
}

const STATUS_BATCH = 10_000;

/**
 * The hashes in the push-state of `eligible` that the server holds. With any remembered, the call also checks the
 * token; with none, every rollout goes through HEAD and PUT, which check it, and a push of nothing asks nothing.
 */
async function storedOnServer(
  options: PushOptions,
  eligible: ThreadInfo[],
  state: Record<string, PushedEntry>,
): Promise<Set<string>> {
  const known = eligible.flatMap((thread) => state[stateKey(options, thread)]?.sha256 ?? []);
  const hashes = [...new Set(known)];
  const stored = new Set<string>();
  for (let start = 0; start < hashes.length; start += STATUS_BATCH) {
    const { rollouts } = await options.client.rolloutStatus(hashes.slice(start, start + STATUS_BATCH));
    for (const r of rollouts) if (r.state !== 'unknown') stored.add(r.sha256);
  }
  return stored;
}

const stateKey = (options: PushOptions, thread: ThreadInfo) => `${options.server}|${options.namespace}|${thread.rolloutPath}`;
