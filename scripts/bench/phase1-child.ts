// One bench scenario in a fresh process, so its peak RSS, file reads and timing are the pipeline's alone.
// The fs counter is imported first: it must wrap node:fs before the services load. Prints one JSON line.
import { fsCounts, procReadChars, resetFsCounts, type FileReadRecord } from './fs-counter.ts';
import { basename, sep } from 'node:path';
import { createModelClient, type ModelClient } from '../../services/model/model-client.ts';
import { runPipeline, type Phase } from '../../services/pipeline.ts';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import type { MemoryStore } from '../../services/store/port.ts';
import { countTokens } from '../../services/tokens/tokens.ts';
import { stageOneTokenLimit } from '../../services/extraction/stage-one-prompt.ts';
import { HEAD_SENTINEL, TAIL_SENTINEL, touchRollout } from './corpus.ts';

type Base = { home: string; url: string; concurrency: number; maxRollouts: number };
// warmHome: run once over it first, unmeasured, so that the measured run finds the process warm.
export type ChildSpec =
  | (Base & { scenario: 'throughput'; warmHome?: string })
  | (Base & { scenario: 'incremental'; changePath: string })
  | (Base & { scenario: 'bigRollout'; bigThreadId: string; model: string });

export type RunFigures = Awaited<ReturnType<typeof run>>;
export type ReadFigures = ReturnType<typeof readFigures>;
type Measured = RunFigures & { reads: ReadFigures };
export type ChildResult =
  | { scenario: 'throughput'; run: RunFigures; maxRssMB: number }
  | { scenario: 'incremental'; first: Measured; consolidate: Measured; noop: Measured; changed: Measured }
  | { scenario: 'bigRollout'; run: RunFigures; maxRssMB: number; big: ReturnType<typeof bigFigures> };

const spec = JSON.parse(process.argv[2]!) as ChildSpec;
const base = createModelClient({ apiKey: 'bench', baseURL: spec.url, wireApi: 'responses' });
let counts = { extract: 0, agent: 0, requestStarts: [] as number[], lastReplyAt: null as number | null };
let bigRequest: { instructions: string; input: string } | null = null;
const model: ModelClient = {
  extractStage1: async (request) => {
    counts.extract++;
    counts.requestStarts.push(performance.now());
    if (spec.scenario === 'bigRollout' && request.input.includes(spec.bigThreadId)) bigRequest = request;
    const reply = await base.extractStage1(request);
    counts.lastReplyAt = performance.now();
    return reply;
  },
  agentTurn: (request) => {
    counts.agent++;
    return base.agentTurn(request);
  },
};

// The default store, with the time each extraction spends waiting on it measured: [total ms, calls].
const timings = { confirmLease: [0, 0], markSucceeded: [0, 0] };
function timed<A extends unknown[], R>(key: keyof typeof timings, fn: (...args: A) => Promise<R>) {
  return async (...args: A): Promise<R> => {
    const t = performance.now();
    try {
      return await fn(...args);
    } finally {
      timings[key][0]! += performance.now() - t;
      timings[key][1]!++;
    }
  };
}
const inner = createLowdbStore({ dir: `${spec.home}${sep}memories_state` });
const store: MemoryStore = Object.assign(Object.create(inner) as MemoryStore, {
  heartbeatStage1Job: timed('confirmLease', inner.heartbeatStage1Job.bind(inner)),
  markStage1Succeeded: timed('markSucceeded', inner.markStage1Succeeded.bind(inner)),
});
const mean = ([total, n]: number[]) => (n! > 0 ? total! / n! : 0);

async function run(phase: Phase, home = spec.home) {
  counts = { extract: 0, agent: 0, requestStarts: [], lastReplyAt: null };
  for (const t of Object.values(timings)) t.fill(0);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const out = await runPipeline({
    codexHome: home,
    model,
    store: home === spec.home ? store : createLowdbStore({ dir: `${home}${sep}memories_state` }),
    phase,
    concurrency: spec.concurrency,
    config: { maxRolloutsPerStartup: spec.maxRollouts },
  });
  const cpu = process.cpuUsage(cpu0);
  const { requestStarts, lastReplyAt: last } = counts;
  const first = requestStarts[0] ?? null;
  return {
    // Discovery and claims, then the extraction requests in flight, then the store commits each extraction waits for.
    toFirstRequestMs: first === null ? null : first - t0,
    extractingMs: first === null || last === null ? null : last - first,
    steadyRate: steadyRate(requestStarts),
    storeMs: { confirmLease: mean(timings.confirmLease), markSucceeded: mean(timings.markSucceeded) },
    wallMs: performance.now() - t0,
    cpuMs: (cpu.user + cpu.system) / 1000, // all threads of this process
    claimed: out.phase1?.claimed ?? 0,
    extractRequests: counts.extract,
    agentRequests: counts.agent,
  };
}

/**
 * Requests started per second between the 10th and the 90th percentile request (as the fleet section reads its
 * workers): past the run's start-up and first wave, before its last, part-empty wave. Null under 20 requests.
 */
function steadyRate(starts: number[]): number | null {
  if (starts.length < 20) return null;
  const [p10, p90] = [Math.floor(starts.length * 0.1), Math.floor(starts.length * 0.9)];
  return (p90 - p10) / ((starts[p90]! - starts[p10]!) / 1000);
}

// rchar: the /proc/self/io delta, every read syscall (the model server's socket included).
function readFigures(records: FileReadRecord[], rchar: number | null, changedPath?: string) {
  const under = (folder: string) => records.filter((r) => r.path.startsWith(`${spec.home}${sep}${folder}${sep}`));
  const sum = (list: FileReadRecord[]) => list.reduce((n, r) => n + r.bytes, 0);
  const [rollouts, stateFiles, memoryFiles] = [under('sessions'), under('memories_state'), under('memories')];
  const other = records.filter((r) => !rollouts.includes(r) && !stateFiles.includes(r) && !memoryFiles.includes(r));
  return {
    rolloutFilesOpened: rollouts.filter((r) => r.opens > 0).length,
    rolloutOpens: rollouts.reduce((n, r) => n + r.opens, 0),
    rolloutBytes: sum(rollouts),
    stateFilesOpened: stateFiles.length,
    stateBytes: sum(stateFiles),
    stateDetail: stateFiles.map((r) => `${basename(r.path)} ${r.opens}× ${(r.bytes / 1024 / 1024).toFixed(1)} MB`).join(', '),
    memoryFilesOpened: memoryFiles.length,
    memoryBytes: sum(memoryFiles),
    otherFilesOpened: other.length,
    otherBytes: sum(other),
    rchar,
    changedRolloutOpens: changedPath ? (records.find((r) => r.path === changedPath)?.opens ?? 0) : 0,
  };
}

async function measured(phase: Phase, changedPath?: string): Promise<Measured> {
  resetFsCounts();
  const r0 = procReadChars();
  const figures = await run(phase);
  const r1 = procReadChars();
  return { ...figures, reads: readFigures(fsCounts(), r0 === null || r1 === null ? null : r1 - r0, changedPath) };
}

const maxRssMB = () => process.resourceUsage().maxRSS / 1024;

/** What the big rollout's request kept; contents: the serialized rollout between the template's lead-in and closing note. */
function bigFigures(sent: { instructions: string; input: string } | null, model: string) {
  const contents = sent
    ? (/as one JSON array\):\n\n([\s\S]*)\n\nIMPORTANT: the transcript above/.exec(sent.input)?.[1] ?? '')
    : '';
  return {
    sent: sent !== null,
    truncated: sent !== null && /\u2026\d+ tokens truncated\u2026/.test(sent.input),
    headKept: sent?.input.includes(HEAD_SENTINEL) ?? false,
    tailKept: sent?.input.includes(TAIL_SENTINEL) ?? false,
    contentsTokens: countTokens(contents),
    instructionTokens: sent ? countTokens(sent.instructions) : 0,
    inputTokens: sent ? countTokens(sent.input) : 0,
    tokenLimit: stageOneTokenLimit(model),
  };
}

let result: ChildResult;
if (spec.scenario === 'throughput') {
  if (spec.warmHome) await run('1', spec.warmHome);
  result = { scenario: 'throughput', run: await run('1'), maxRssMB: maxRssMB() };
} else if (spec.scenario === 'incremental') {
  const [first, consolidate, noop] = [await measured('1'), await measured('2'), await measured('all')];
  // Still idle (6.5 h > the 6 h window) but newer than the extracted snapshot.
  await touchRollout(spec.changePath, new Date(Date.now() - 6.5 * 3_600_000));
  result = { scenario: 'incremental', first, consolidate, noop, changed: await measured('all', spec.changePath) };
} else {
  const figures = await run('1');
  const maxRss = maxRssMB(); // before bigFigures, which tokenizes the request again
  result = { scenario: 'bigRollout', run: figures, maxRssMB: maxRss, big: bigFigures(bigRequest, spec.model) };
}
process.stdout.write(`${JSON.stringify(result)}\n`);
