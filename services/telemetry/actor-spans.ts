// Spans made by the actor system itself, from XState's inspection events: a span opens when a machine actor
// starts and closes when it stops, done or not; every state it enters is a span event (with the attempt number
// when its context counts attempts); a failed invoked service is an `error` event with its error class. A state
// or a machine added later shows up in the trace without a line here. Invoked promise actors get no span of
// their own: their work is under their machine's (model calls and agent turns nest there, see run-telemetry.ts).
import { type Attributes, type Context, ROOT_CONTEXT, type Span, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import type { AnyActorRef, InspectionEvent, StateValue } from 'xstate';
import { type MachineTrace, machineTrace } from './actor-attributes.ts';
import { errorKind } from './trace-scope.ts';

interface Phase {
  name: string;
  span: Span;
  context: Context;
}

interface ActorTrace {
  machine: MachineTrace;
  span: Span;
  context: Context;
  /** The state paths active at the last snapshot seen: an event is added for each path that is new. */
  states: Set<string>;
  described: boolean;
  phase: Phase | null;
}

interface SnapshotView {
  status: string;
  value?: StateValue;
  context?: unknown;
  output?: unknown;
  error?: unknown;
}

type ActorView = AnyActorRef & { logic: { id?: unknown; root?: unknown } };

export class ActorSpans {
  private readonly traces = new Map<AnyActorRef, ActorTrace>();

  constructor(
    private readonly tracer: Tracer,
    private readonly common: Attributes,
  ) {}

  readonly inspect = (event: InspectionEvent): void => {
    const actor = event.actorRef as ActorView;
    if (event.type === '@xstate.microstep' || event.type === '@xstate.snapshot') {
      this.moved(actor, event.snapshot as SnapshotView);
      return;
    }
    if (event.type !== '@xstate.event') return;
    // At start, not creation: an invoked child is created while its parent enters the invoking state, before the
    // parent's own step (and so its phase) is reported; it starts once that step is done.
    if (event.event.type === 'xstate.init') this.started(actor);
    else if (event.event.type.startsWith('xstate.error.actor.')) {
      this.traces.get(actor)?.span.addEvent('error', {
        'memories.step': event.event.type.slice('xstate.error.actor.'.length),
        'error.type': errorKind((event.event as { error?: unknown }).error),
      });
    }
  };

  /** Where work started on behalf of `actor` belongs: its open phase, else its own span. */
  contextOf(actor: AnyActorRef | undefined): Context | undefined {
    const found = actor ? this.traces.get(actor) : undefined;
    return found ? (found.phase?.context ?? found.context) : undefined;
  }

  /** Ends whatever is still open (a run stopped mid-way): a span never exported is a trace with a hole. */
  endAll(): void {
    for (const [actor, open] of this.traces) this.close(actor, open, { status: 'stopped' });
  }

  private started(actor: ActorView): void {
    // Only machines: a state machine's logic has a root state node.
    if (actor.logic?.root === undefined || typeof actor.logic.id !== 'string') return;
    const machine = machineTrace(actor.logic.id);
    const parent = this.contextOf(actor._parent) ?? ROOT_CONTEXT;
    const span = this.tracer.startSpan(machine.spanName, { attributes: { ...this.common, 'memories.actor': actor.id } }, parent);
    this.traces.set(actor, {
      machine,
      span,
      context: trace.setSpan(parent, span),
      states: new Set(),
      described: false,
      phase: null,
    });
  }

  private moved(actor: AnyActorRef, snapshot: SnapshotView): void {
    const open = this.traces.get(actor);
    if (!open) return;
    if (!open.described) {
      open.described = true;
      if (open.machine.subject) open.span.setAttributes(open.machine.subject(snapshot.context));
    }
    if (snapshot.status !== 'active') {
      this.close(actor, open, snapshot);
      return;
    }
    if (snapshot.value === undefined) return;
    const paths = statePaths(snapshot.value);
    const attempt = (snapshot.context as { attempt?: unknown } | undefined)?.attempt;
    const eventAttributes = typeof attempt === 'number' ? { 'memories.attempt': attempt } : undefined;
    for (const path of paths) if (!open.states.has(path)) open.span.addEvent(path, eventAttributes);
    open.states = new Set(paths);
    this.enterPhase(open, topState(snapshot.value), snapshot.context);
  }

  private enterPhase(open: ActorTrace, state: string, context: unknown): void {
    const name = open.machine.phases?.[state];
    if (open.phase?.name === name) return;
    this.endPhase(open, context);
    if (name === undefined) return;
    const span = this.tracer.startSpan(name, { attributes: this.common }, open.context);
    open.phase = { name, span, context: trace.setSpan(open.context, span) };
  }

  private endPhase(open: ActorTrace, context: unknown): void {
    if (!open.phase) return;
    if (open.machine.phaseOutcome) open.phase.span.setAttributes(open.machine.phaseOutcome(open.phase.name, context));
    open.phase.span.end();
    open.phase = null;
  }

  private close(actor: AnyActorRef, open: ActorTrace, snapshot: SnapshotView): void {
    this.traces.delete(actor);
    this.endPhase(open, snapshot.context);
    const { span, machine } = open;
    span.setAttribute('memories.actor.status', snapshot.status);
    let failure: string | null = null;
    if (snapshot.status === 'done') {
      if (machine.outcome) span.setAttributes(machine.outcome(snapshot.output));
      failure = machine.failure?.(snapshot.output) ?? null;
    } else if (snapshot.status === 'error') {
      failure = errorKind(snapshot.error);
    }
    if (failure !== null) {
      span.setAttribute('error.type', failure);
      span.setStatus({ code: SpanStatusCode.ERROR, message: failure });
    }
    span.end();
  }
}

/** `{ running: { work: 'requesting', lease: 'held' } }` → running, running.work.requesting, running.lease.held. */
export function statePaths(value: StateValue, prefix = ''): string[] {
  if (typeof value === 'string') return [`${prefix}${value}`];
  const entries = Object.entries(value);
  // The children of a parallel state are its regions: each region's own node is no step worth an event.
  const regions = entries.length > 1;
  return entries.flatMap(([key, child]) => {
    const path = `${prefix}${key}`;
    const below = child === undefined ? [] : statePaths(child, `${path}.`);
    return regions ? below : [path, ...below];
  });
}

function topState(value: StateValue): string {
  return typeof value === 'string' ? value : (Object.keys(value)[0] ?? '');
}
