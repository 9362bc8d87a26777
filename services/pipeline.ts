// Wires the statecharts to their services: `createMemoriesPipeline` starts the actor, `runPipeline` awaits it.
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { type Actor, type AnyActorLogic, type AnyActorRef, createActor, type InspectionEvent, toPromise } from 'xstate';
import { coordinatorMachine, type CoordinatorOutput, summarizePhase1 } from '../machines/coordinator.ts';
import { consolidationMachine } from '../machines/consolidation.ts';
import { extractionMachine } from '../machines/extraction.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../machines/retry-policy.ts';
import { DEFAULT_CONFIG, loadMemoriesConfigSync, type MemoriesConfig } from './config.ts';
import {
  DEFAULT_AGENT_MAX_TOTAL_TOKENS,
  DEFAULT_AGENT_MAX_TURNS,
  PHASE1_CONCURRENCY,
  PHASE2_HEARTBEAT_MS,
  PHASE2_RETRY_DELAY_SECONDS,
  STAGE1_HEARTBEAT_MS,
  STAGE1_RETRY_DELAY_SECONDS,
} from './constants.ts';
import { ConfigError } from './errors.ts';
import { silentLogger, type Logger } from './logger.ts';
import { createLowdbStore } from './store/lowdb-store.ts';
import { type MemoryLayout, resolveLayout } from './memory-folder/layout.ts';
import type { ModelClient } from './model/model-client.ts';
import { Inflight, type PipelineDeps } from './pipeline-deps.ts';
import { consolidationActors } from './consolidation/actors.ts';
import { extractionActors, phase1Actors } from './extraction/actors.ts';
import type { MemoryStore } from './store/port.ts';
import { stopReleasingLeases } from './store/release-leases.ts';
import type { RunTelemetry, Telemetry } from './telemetry/telemetry.ts';

export type Phase = '1' | '2' | 'all';

export interface PipelineOptions {
  codexHome: string;
  model: ModelClient;
  /** The [memories] settings; absent: read from the Codex home's config.toml (a missing file: the defaults). */
  config?: Partial<MemoriesConfig>;
  phase?: Phase;
  /**
   * The memory layout to write. Default: resolved from config.version, and with the key absent from the
   * Codex on PATH (one `codex --version`); a host running many pipelines resolves once and passes it.
   */
  layout?: MemoryLayout;
  /** A store of the host's; default: the lowdb store in the layout's state dir. */
  store?: MemoryStore;
  stateDir?: string;
  concurrency?: number;
  retryPolicy?: Partial<RetryPolicy>;
  /** Wall clock in ms (default Date.now); give `() => clock.now()` with a SimulatedClock. */
  now?: () => number;
  /** XState clock for the machines' timers (backoff, heartbeats). */
  clock?: { setTimeout(fn: (...args: unknown[]) => void, ms: number): unknown; clearTimeout(id: unknown): void };
  log?: Logger;
  workerId?: string;
  allowedSources?: string[];
  minIdleMinutes?: number;
  agent?: Partial<PipelineDeps['agent']>;
  heartbeatMs?: number;
  consolidationHeartbeatMs?: number;
  /** Receives every actor event (Stately inspector, JSONL event log). */
  inspect?: (event: InspectionEvent) => void;
  /** Spans and Codex's five instruments for each run (services/telemetry/setup.ts); none: nothing recorded. */
  telemetry?: Telemetry;
}

export function pipelineDeps(options: PipelineOptions): PipelineDeps {
  const now = options.now ?? Date.now;
  // A host that passes no settings gets the Codex home's own config.toml, as the CLI does.
  // Absolute, as the CLI's: rollout paths and the folder's place are written into memory files.
  const codexHome = resolve(options.codexHome);
  const config = { ...(options.config ? DEFAULT_CONFIG : loadMemoriesConfigSync(codexHome)), ...options.config };
  const layout = options.layout ?? resolveLayout(codexHome, config);
  const stateDir = options.stateDir ?? layout.stateDir;
  return {
    codexHome,
    layout,
    stateDir,
    config,
    store: options.store ?? createLowdbStore({ dir: stateDir, now, log: options.log }),
    model: options.model,
    now,
    workerId: options.workerId ?? `${hostname()}:${process.pid}:${randomUUID()}`,
    log: options.log ?? silentLogger,
    allowedSources: options.allowedSources,
    minIdleMinutes: options.minIdleMinutes,
    agent: {
      maxTurns: options.agent?.maxTurns ?? DEFAULT_AGENT_MAX_TURNS,
      maxTotalTokens: options.agent?.maxTotalTokens ?? DEFAULT_AGENT_MAX_TOTAL_TOKENS,
    },
    inflight: new Inflight(),
  };
}

/** The coordinator with every actor provided from services/ (or from the given deps), traced when `run` is given. */
export function providedCoordinator(deps: PipelineDeps, run?: RunTelemetry) {
  const traced = <T extends Record<string, AnyActorLogic>>(actors: T): T => (run ? run.actors(actors) : actors);
  const logic = coordinatorMachine.provide({
    actors: {
      ...traced(phase1Actors(deps)),
      extraction: extractionMachine.provide({ actors: traced(extractionActors(deps)) }),
      consolidation: consolidationMachine.provide({ actors: traced(consolidationActors(deps)) }),
    },
  });
  // So stopPipeline finds the store to release leases in, also for an actor a host created from this logic itself.
  depsOfLogic.set(logic, deps);
  return logic;
}

export type MemoriesPipeline = Actor<ReturnType<typeof providedCoordinator>>;

const depsOfLogic = new WeakMap<object, PipelineDeps>();

/** Stops a pipeline, releasing its leases so the next run takes those rollouts at once; resolves once written. */
export async function stopPipeline(actor: MemoriesPipeline): Promise<void> {
  const deps = depsOfLogic.get(actor.logic);
  if (deps) await stopReleasingLeases(actor, deps);
  else actor.stop();
}

/** Creates and starts the pipeline actor. Subscribe to it, or `await toPromise(actor)`. */
export function createMemoriesPipeline(options: PipelineOptions): MemoriesPipeline {
  // A host's mistyped home would be created and run empty, with nothing said: refused, as the CLI refuses it.
  // (A fleet worker's namespace home is made by the run itself: it does not come through here.)
  if (!existsSync(options.codexHome)) throw new ConfigError(`codexHome ${resolve(options.codexHome)} does not exist`);
  const run = options.telemetry?.startRun();
  const deps = pipelineDeps(run ? { ...options, model: run.model(options.model) } : options);
  const phase = options.phase ?? 'all';
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    durableRetryDelaySeconds: phase === '2' ? PHASE2_RETRY_DELAY_SECONDS : STAGE1_RETRY_DELAY_SECONDS,
    ...options.retryPolicy,
  };
  const actor = createActor(providedCoordinator(deps, run), {
    // XState treats an explicit `clock: undefined` as a clock, so pass it only when given.
    ...(options.clock ? { clock: options.clock } : {}),
    inspect: bothInspectors(options.inspect, run?.inspect),
    input: {
      phases: { extract: phase !== '2', consolidate: phase !== '1' },
      concurrency: options.concurrency ?? PHASE1_CONCURRENCY,
      policy,
      heartbeatMs: options.heartbeatMs ?? STAGE1_HEARTBEAT_MS,
      consolidationHeartbeatMs: options.consolidationHeartbeatMs ?? PHASE2_HEARTBEAT_MS,
    },
  });
  // An error observer keeps an unexpected actor error from becoming an uncaught exception.
  actor.subscribe({ error: (error) => deps.log.error({ err: error }, 'pipeline actor failed') });
  actor.start();
  return actor;
}

function bothInspectors(first: PipelineOptions['inspect'], second: PipelineOptions['inspect']): PipelineOptions['inspect'] {
  if (!first || !second) return first ?? second;
  return (event) => {
    first(event);
    second(event);
  };
}

/**
 * Resolves with the pipeline's summary once the actor ends (rejects if it fails). A pipeline stopped first
 * (stopPipeline) has no output of its own: the summary of what it did until then comes back, marked `stopped`
 * (phase 2 null unless it had finished).
 */
export async function pipelineOutput(actor: MemoriesPipeline): Promise<CoordinatorOutput> {
  // An actor that has already ended tells no late subscriber: its snapshot says how it ended.
  const ended = actor.getSnapshot();
  if (ended.status === 'error') throw ended.error;
  const output =
    ended.status === 'active' ? ((await toPromise(actor as AnyActorRef)) as CoordinatorOutput | undefined) : ended.output;
  if (output !== undefined) return output;
  const { context } = actor.getSnapshot();
  return { phase1: summarizePhase1(context), phase2: context.phase2, stopped: true };
}

/** Runs the pipeline once and resolves with its summary (see pipelineOutput). */
export async function runPipeline(options: PipelineOptions, onActor?: (actor: MemoriesPipeline) => void) {
  const actor = createMemoriesPipeline(options);
  onActor?.(actor);
  return pipelineOutput(actor);
}
