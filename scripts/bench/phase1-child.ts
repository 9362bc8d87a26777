// One bench scenario in a fresh process, so that its peak RSS, its file reads and its timing are the
// pipeline's alone. The fs counter is imported first: it must wrap node:fs before the services load.
// Usage: node --import tsx phase1-child.ts '<json ChildSpec>'; prints one JSON ChildResult line.
import { fsCounts, procReadChars, resetFsCounts, type FileReadRecord } from './fs-counter.ts';
import { sep } from 'node:path';
import { createModelClient, type ModelClient } from '../../services/model/model-client.ts';
import { runPipeline, type Phase } from '../../services/pipeline.ts';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import type { MemoryStore } from '../../services/store/port.ts';
import { countTokens } from '../../services/tokens/tokens.ts';
import { stageOneTokenLimit } from '../../services/extraction/stage-one-prompt.ts';
import { HEAD_SENTINEL, TAIL_SENTINEL, touchRollout } from './corpus.ts';

export type ChildSpec =
  | {
      scenario: 'throughput';
      home: string;
      url: string;
      concurrency: number;
      maxRollouts: number;
      /** Run once over this home first, unmeasured: the measured run then finds the process warm. */
      warmHome?: string;
    }
  | { scenario: 'incremental'; home: string; url: string; concurrency: number; maxRollouts: number; changePath: string }
  | { scenario: 'bigRollout'; home: string; url: string; concurrency: number; maxRollouts: number; bigThreadId: string; model: string };

export interface RunFigures {
  wallMs: number;
  claimed: number;
  succeeded: number;
  failed: number;
  phase2Status: string | null;
  extractRequests: number;
  agentRequests: number;
  /** Start of the run → first extraction request sent (discovery, claims, first request build). */
  toFirstRequestMs: number | null;
  /** First extraction request sent → last extraction reply received. */
  extractingMs: number | null;
  /** Mean time per call of the store methods each extraction waits for (a locked, fsynced commit). */
  storeMs: { confirmLease: number; markSucceeded: number; claim: number };
  /** CPU time of the pipeline process during the run (all its threads, user + system). */
  cpuMs: number;
}

export interface ReadFigures {
  rolloutFilesOpened: number;
  rolloutOpens: number;
  rolloutBytes: number;
  stateFilesOpened: number;
  stateBytes: number;
  /** Per state file: name, opens, bytes. */
  stateDetail: string;
  memoryFilesOpened: number;
  memoryBytes: number;
  otherFilesOpened: number;
  otherBytes: number;
  /** /proc/self/io rchar delta: every read syscall, sockets included. */
  rchar: number | null;
  changedRolloutOpens: number;
}

export type ChildResult =
  | { scenario: 'throughput'; run: RunFigures; maxRssMB: number }
  | {
      scenario: 'incremental';
      first: RunFigures & { reads: ReadFigures };
      consolidate: RunFigures & { reads: ReadFigures };
      noop: RunFigures & { reads: ReadFigures };
      changed: RunFigures & { reads: ReadFigures };
      rolloutsOnDisk: number;
    }
  | {
      scenario: 'bigRollout';
      run: RunFigures;
      maxRssMB: number;
      big: {
        sent: boolean;
        truncated: boolean;
        headKept: boolean;
        tailKept: boolean;
        /** The serialized rollout as sent (between the template's lead-in and its closing note). */
        contentsTokens: number;
        instructionTokens: number;
        inputTokens: number;
        tokenLimit: number;
      };
    };

const spec = JSON.parse(process.argv[2]!) as ChildSpec;
const base = createModelClient({ apiKey: 'bench', baseURL: spec.url, wireApi: 'responses' });
let extractRequests = 0;
let agentRequests = 0;
let bigRequest: { instructions: string; input: string } | null = null;
let firstRequestAt: number | null = null;
let lastReplyAt: number | null = null;
const model: ModelClient = {
  extractStage1: async (request) => {
    extractRequests++;
    firstRequestAt ??= performance.now();
    if (spec.scenario === 'bigRollout' && request.input.includes(spec.bigThreadId)) bigRequest = { instructions: request.instructions, input: request.input };
    const reply = await base.extractStage1(request);
    lastReplyAt = performance.now();
    return reply;
  },
  agentTurn: (request) => {
    agentRequests++;
    return base.agentTurn(request);
  },
};

/** The default store, with the time each extraction spends waiting on it measured. */
const timings = { confirmLease: [0, 0], markSucceeded: [0, 0], claim: [0, 0] };
function timed<A extends unknown[], R>(key: keyof typeof timings, fn: (...args: A) => Promise<R>) {
  return async (...args: A): Promise<R> => {
    const t = performance.now();
    try {
      return await fn(...args);
    } finally {
      timings[key][0] += performance.now() - t;
      timings[key][1]++;
    }
  };
}
const inner = createLowdbStore({ dir: `${spec.home}${sep}memories_state` });
const store: MemoryStore = Object.assign(Object.create(inner) as MemoryStore, {
  heartbeatStage1Job: timed('confirmLease', inner.heartbeatStage1Job.bind(inner)),
  markStage1Succeeded: timed('markSucceeded', inner.markStage1Succeeded.bind(inner)),
  claimStage1Jobs: timed('claim', inner.claimStage1Jobs.bind(inner)),
});
const mean = ([total, n]: number[]) => (n! > 0 ? total! / n! : 0);

async function run(phase: Phase, home = spec.home): Promise<RunFigures> {
  extractRequests = 0;
  agentRequests = 0;
  firstRequestAt = null;
  lastReplyAt = null;
  for (const t of Object.values(timings)) t.fill(0);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const runStore = home === spec.home ? store : createLowdbStore({ dir: `${home}${sep}memories_state` });
  const out = await runPipeline({ codexHome: home, model, store: runStore, phase, concurrency: spec.concurrency, config: { maxRolloutsPerStartup: spec.maxRollouts } });
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const p1 = out.phase1;
  const first = firstRequestAt as number | null;
  const last = lastReplyAt as number | null;
  return {
    toFirstRequestMs: first === null ? null : first - t0,
    extractingMs: first === null || last === null ? null : last - first,
    storeMs: { confirmLease: mean(timings.confirmLease), markSucceeded: mean(timings.markSucceeded), claim: mean(timings.claim) },
    wallMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    claimed: p1?.claimed ?? 0,
    succeeded: (p1?.succeeded ?? 0) + (p1?.succeededNoOutput ?? 0),
    failed: p1?.failed ?? 0,
    phase2Status: out.phase2?.status ?? null,
    extractRequests,
    agentRequests,
  };
}

function readFigures(records: FileReadRecord[], rcharDelta: number | null, changedPath?: string): ReadFigures {
  const sessions = `${spec.home}${sep}sessions${sep}`;
  const state = `${spec.home}${sep}memories_state${sep}`;
  const memories = `${spec.home}${sep}memories${sep}`;
  const sum = (list: FileReadRecord[]) => list.reduce((n, r) => n + r.bytes, 0);
  const rollouts = records.filter((r) => r.path.startsWith(sessions));
  const stateFiles = records.filter((r) => r.path.startsWith(state));
  const memoryFiles = records.filter((r) => r.path.startsWith(memories));
  const other = records.filter((r) => !rollouts.includes(r) && !stateFiles.includes(r) && !memoryFiles.includes(r));
  return {
    rolloutFilesOpened: rollouts.filter((r) => r.opens > 0).length,
    rolloutOpens: rollouts.reduce((n, r) => n + r.opens, 0),
    rolloutBytes: sum(rollouts),
    stateFilesOpened: stateFiles.length,
    stateBytes: sum(stateFiles),
    stateDetail: stateFiles
      .map((r) => `${r.path.slice(state.length)} ${r.opens}× ${(r.bytes / 1024 / 1024).toFixed(1)} MB`)
      .join(', '),
    memoryFilesOpened: memoryFiles.length,
    memoryBytes: sum(memoryFiles),
    otherFilesOpened: other.length,
    otherBytes: sum(other),
    rchar: rcharDelta,
    changedRolloutOpens: changedPath ? (records.find((r) => r.path === changedPath)?.opens ?? 0) : 0,
  };
}

async function measured(phase: Phase, changedPath?: string): Promise<RunFigures & { reads: ReadFigures }> {
  resetFsCounts();
  const r0 = procReadChars();
  const figures = await run(phase);
  const r1 = procReadChars();
  return { ...figures, reads: readFigures(fsCounts().reads, r0 === null || r1 === null ? null : r1 - r0, changedPath) };
}

function maxRssMB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

let result: ChildResult;
if (spec.scenario === 'throughput') {
  if (spec.warmHome) await run('1', spec.warmHome);
  const figures = await run('1');
  result = { scenario: 'throughput', run: figures, maxRssMB: maxRssMB() };
} else if (spec.scenario === 'incremental') {
  const first = await measured('1');
  const consolidate = await measured('2');
  const noop = await measured('all');
  // Still idle (6.5 h > the 6 h window) but newer than the extracted snapshot.
  await touchRollout(spec.changePath, new Date(Date.now() - 6.5 * 3_600_000));
  const changed = await measured('all', spec.changePath);
  result = { scenario: 'incremental', first, consolidate, noop, changed, rolloutsOnDisk: first.claimed };
} else {
  const figures = await run('1');
  const rss = maxRssMB(); // before the checks below, which tokenize the request again
  const sent = bigRequest as { instructions: string; input: string } | null;
  const tokenLimit = stageOneTokenLimit(spec.model);
  const instructionTokens = sent ? countTokens(sent.instructions) : 0;
  const inputTokens = sent ? countTokens(sent.input) : 0;
  const contents = sent ? /as one JSON array\):\n\n([\s\S]*)\n\nIMPORTANT: the transcript above/.exec(sent.input)?.[1] ?? '' : '';
  result = {
    scenario: 'bigRollout',
    run: figures,
    maxRssMB: rss,
    big: {
      sent: sent !== null,
      truncated: sent !== null && /\u2026\d+ tokens truncated\u2026/.test(sent.input),
      headKept: sent?.input.includes(HEAD_SENTINEL) ?? false,
      tailKept: sent?.input.includes(TAIL_SENTINEL) ?? false,
      contentsTokens: countTokens(contents),
      instructionTokens,
      inputTokens,
      tokenLimit,
    },
  };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
