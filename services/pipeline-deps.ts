// What the pipeline's actors need from their host: a store, a model client, a clock, a logger.
import type { MemoriesConfig } from './config.ts';
import type { Logger } from './logger.ts';
import type { MemoryLayout } from './memory-folder/layout.ts';
import type { ModelClient } from './model/model-client.ts';
import type { MemoryStore } from './store/port.ts';

export interface PipelineDeps {
  codexHome: string;
  /** The memory folder Codex reads (v1 or v2), its root and why it was chosen. */
  layout: MemoryLayout;
  /** Where the store and caches live (default: the layout's, $CODEX_HOME/memories_state for v1). */
  stateDir: string;
  config: MemoriesConfig;
  store: MemoryStore;
  model: ModelClient;
  /** Wall clock in ms; tests point it at a SimulatedClock. */
  now: () => number;
  /** This process's worker id, recorded on the leases it takes. */
  workerId: string;
  log: Logger;
  /** Sources eligible for phase 1 (default: the interactive ones, cli and vscode). */
  allowedSources?: string[];
  /** Idle window in minutes, overriding min_rollout_idle_hours (daemon's --idle-minutes). */
  minIdleMinutes?: number;
  agent: { maxTurns: number; maxTotalTokens: number };
  /** Clean-up work still running after an actor was stopped (lease releases); shutdown awaits it. */
  inflight: Inflight;
}

const ignore = () => undefined;

export class Inflight {
  private readonly pending = new Set<Promise<unknown>>();

  track(work: Promise<unknown>): void {
    const settled = work.then(ignore, ignore);
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
  }

  async settle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all(this.pending);
  }
}
