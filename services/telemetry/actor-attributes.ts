// What the trace says about each of our machines, as data: the span's name, the ids and counts read from its
// context and output, which outcome is a failure, and which of the coordinator's states make up a phase.
// States themselves need no entry: every state a machine enters becomes a span event on its own.
// Only ids, counts, outcomes and error kinds are read here, never text a rollout or a model produced.
import { type CoordinatorOutput, summarizePhase1 } from '../../machines/coordinator.ts';
import type { ConsolidationOutput } from '../../machines/consolidation.ts';
import type { ExtractionOutput } from '../../machines/extraction.ts';
import type { TokenUsage } from '../types.ts';
import type { SpanAttributes } from './trace-scope.ts';

export interface MachineTrace {
  spanName: string;
  /** From the first snapshot's context: what the actor works on. */
  subject?(context: unknown): SpanAttributes;
  /** From the final output. */
  outcome?(output: unknown): SpanAttributes;
  /** The error kind when the output is a failure, else null. */
  failure?(output: unknown): string | null;
  /** The phase span each top-level state belongs to (states not listed end the open phase). */
  phases?: Record<string, string>;
  /** A phase span's attributes, read from the machine's context as the phase ends. */
  phaseOutcome?(phase: string, context: unknown): SpanAttributes;
}

type CoordinatorContext = Parameters<typeof summarizePhase1>[0];
type ExtractionContext = { claim?: { thread?: { threadId?: string } } };

export const MACHINE_TRACES: Record<string, MachineTrace> = {
  coordinator: {
    spanName: 'memories.run',
    subject: (context) => {
      const { phases, concurrency } = context as CoordinatorContext;
      return {
        'memories.phase1.requested': phases.extract,
        'memories.phase2.requested': phases.consolidate,
        'memories.concurrency': concurrency,
      };
    },
    outcome: (output) => outcomeOfRun(output as CoordinatorOutput),
    phases: {
      scanning: 'memories.phase1',
      claiming: 'memories.phase1',
      extracting: 'memories.phase1',
      consolidating: 'memories.phase2',
    },
    phaseOutcome: (phase, context) => {
      const coordinator = context as CoordinatorContext;
      return phase === 'memories.phase1' ? phase1Attributes(coordinator) : phase2Attributes(coordinator.phase2);
    },
  },
  extraction: {
    spanName: 'memories.extraction',
    subject: (context) => ({ 'memories.thread_id': (context as ExtractionContext).claim?.thread?.threadId ?? '' }),
    outcome: (output) => {
      const job = output as ExtractionOutput;
      return { 'memories.outcome': job.outcome, 'memories.attempts': job.attempts, ...usageAttributes(job.usage) };
    },
    failure: (output) => {
      const { outcome } = output as ExtractionOutput;
      return outcome === 'gaveUp' || outcome === 'leaseLost' ? outcome : null;
    },
  },
  consolidation: {
    spanName: 'memories.consolidation',
    outcome: (output) => {
      const run = output as ConsolidationOutput;
      return { ...phase2Attributes(run), ...(run.revision ? { 'memories.revision': run.revision } : {}) };
    },
    failure: (output) => {
      const { status } = output as ConsolidationOutput;
      return status === 'failed' || status === 'leaseLost' ? status : null;
    },
  },
};

/** Any other machine (a host's own, a future one) still gets a span and its state events. */
export const machineTrace = (machineId: string): MachineTrace =>
  MACHINE_TRACES[machineId] ?? { spanName: `memories.${machineId}` };

function outcomeOfRun(output: CoordinatorOutput): SpanAttributes {
  return {
    ...(output.phase1 ? { 'memories.phase1.claimed': output.phase1.claimed } : {}),
    ...(output.phase2 ? { 'memories.phase2.status': output.phase2.status } : {}),
  };
}

function phase1Attributes(context: CoordinatorContext): SpanAttributes {
  const p1 = summarizePhase1(context);
  if (!p1) return {};
  return {
    'memories.rollouts.seen': p1.filesSeen,
    'memories.rollouts.eligible': p1.eligible,
    'memories.phase1.claimed': p1.claimed,
    'memories.phase1.succeeded': p1.succeeded,
    'memories.phase1.succeeded_no_output': p1.succeededNoOutput,
    'memories.phase1.failed': p1.failed,
    'memories.phase1.skipped': p1.skipped.upToDate + p1.skipped.running + p1.skipped.retryBackoff + p1.skipped.retryExhausted,
    'memories.phase1.claim_failed': p1.error !== null,
    ...usageAttributes(p1.usage),
  };
}

function phase2Attributes(output: ConsolidationOutput | null | undefined): SpanAttributes {
  if (!output) return {};
  return {
    'memories.phase2.status': output.status,
    'memories.phase2.selected': output.selected,
    'memories.phase2.added': output.added,
    'memories.phase2.retained': output.retained,
    'memories.phase2.removed': output.removed,
    'memories.attempts': output.attempts,
    'memories.agent.turns': output.turns,
  };
}

function usageAttributes(usage: TokenUsage | null): SpanAttributes {
  if (!usage) return {};
  return {
    'gen_ai.usage.input_tokens': usage.input,
    'gen_ai.usage.output_tokens': usage.output,
    'memories.tokens.total': usage.total,
  };
}
