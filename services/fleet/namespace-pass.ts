// One pass of the pipeline's own coordinator over one namespace of the shared queue: phase 1 (claim up to a batch,
// extract with the worker's concurrency) or phase 2 (one consolidation). The machines are the local pipeline's;
// only their actors differ (fleet-actors.ts).
import { type AnyActorRef, createActor, toPromise } from 'xstate';
import { type CoordinatorOutput, coordinatorMachine } from '../../machines/coordinator.ts';
import { consolidationMachine } from '../../machines/consolidation.ts';
import { extractionMachine } from '../../machines/extraction.ts';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../machines/retry-policy.ts';
import type { MemoriesConfig } from '../config.ts';
import { PHASE2_RETRY_DELAY_SECONDS, STAGE1_RETRY_DELAY_SECONDS } from '../constants.ts';
import type { Logger } from '../logger.ts';
import { type LayoutVersion, layoutOf } from '../memory-folder/layout.ts';
import type { ModelClient } from '../model/model-client.ts';
import { pipelineDeps } from '../pipeline.ts';
import type { PipelineDeps } from '../pipeline-deps.ts';
import type { PgDatabase } from '../store/postgres/connection.ts';
import { createPostgresStore } from '../store/postgres/postgres-store.ts';
import { heldLeases, stopReleasingLeases } from '../store/release-leases.ts';
import { fleetConsolidationActors, fleetExtractionActors, fleetPhase1Actors, type FleetScope } from './fleet-actors.ts';
import { namespaceHome } from './namespaces.ts';

export interface NamespacePassOptions {
  db: PgDatabase;
  namespace: string;
  layout: LayoutVersion;
  workDir: string;
  model: ModelClient;
  phase: '1' | '2';
  /** Model calls in flight; a pass claims twice as many rollouts. */
  concurrency: number;
  leaseSeconds: number;
  workerId: string;
  log: Logger;
  config?: Partial<MemoriesConfig>;
  retryPolicy?: Partial<RetryPolicy>;
  agent?: Partial<PipelineDeps['agent']>;
}

export interface NamespacePass {
  done: Promise<CoordinatorOutput>;
  /** Stops the pass and gives back every lease it holds (claimable at once by another worker). */
  stop(): Promise<void>;
}

export function startNamespacePass(options: NamespacePassOptions): NamespacePass {
  const home = namespaceHome(options.workDir, options.namespace);
  const claimBatch = options.concurrency * 2;
  const deps = pipelineDeps({
    codexHome: home,
    model: options.model,
    config: { ...options.config, maxRolloutsPerStartup: claimBatch },
    layout: layoutOf(home, options.layout, `fleet namespace ${options.namespace} (${options.layout})`),
    // No running cap across the fleet: each worker's concurrency bounds its own jobs.
    store: createPostgresStore({ db: options.db, namespace: options.namespace, runningCap: Number.POSITIVE_INFINITY }),
    workerId: options.workerId,
    log: options.log,
    agent: options.agent,
  });
  const fleet: FleetScope = {
    db: options.db,
    namespace: options.namespace,
    namespaceHome: home,
    leaseSeconds: options.leaseSeconds,
    queueLimit: claimBatch * 4,
  };
  const coordinator = coordinatorMachine.provide({
    actors: {
      ...fleetPhase1Actors(deps, fleet),
      extraction: extractionMachine.provide({ actors: fleetExtractionActors(deps, fleet) }),
      consolidation: consolidationMachine.provide({ actors: fleetConsolidationActors(deps, fleet) }),
    },
  });
  const heartbeatMs = Math.max(100, Math.floor((options.leaseSeconds * 1000) / 3));
  const policy: RetryPolicy = {
    ...DEFAULT_RETRY_POLICY,
    durableRetryDelaySeconds: options.phase === '2' ? PHASE2_RETRY_DELAY_SECONDS : STAGE1_RETRY_DELAY_SECONDS,
    ...options.retryPolicy,
  };
  const actor = createActor(coordinator, {
    input: {
      phases: { extract: options.phase === '1', consolidate: options.phase === '2' },
      concurrency: options.concurrency,
      policy,
      heartbeatMs,
      consolidationHeartbeatMs: heartbeatMs,
    },
  });
  // An error observer keeps an unexpected actor error from becoming an uncaught exception.
  actor.subscribe({ error: (error) => options.log.error({ err: error, namespace: options.namespace }, 'namespace pass failed') });
  actor.start();
  const keeper = keepLeases(actor, deps, options.leaseSeconds, heartbeatMs);
  const done = (toPromise(actor as AnyActorRef) as Promise<CoordinatorOutput>).finally(() => clearInterval(keeper));
  return {
    done,
    async stop() {
      clearInterval(keeper);
      await stopReleasingLeases(actor, deps);
    },
  };
}

/**
 * The machines renew a lease only beside the work they wait on (a model call, the agent); with the fleet's short
 * leases the steps around it (a queued claim waiting for a slot, a consolidation's git snapshot and commit over
 * hundreds of files) can outlast one. This renews every lease the pass holds, whatever step it is in.
 */
function keepLeases(actor: AnyActorRef, deps: PipelineDeps, leaseSeconds: number, everyMs: number): NodeJS.Timeout {
  return setInterval(() => {
    const { claims, global } = heldLeases(actor);
    for (const { thread, ownershipToken } of claims) {
      deps.inflight.track(deps.store.heartbeatStage1Job(thread.threadId, ownershipToken, leaseSeconds));
    }
    if (global) deps.inflight.track(deps.store.heartbeatGlobalJob(global.ownershipToken, leaseSeconds));
  }, everyMs);
}
