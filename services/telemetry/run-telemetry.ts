// Telemetry over OpenTelemetry providers (from sdk.ts, or a test's with in-memory exporters): per run, the actor
// spans, the model spans, and the five instruments recorded once when the run is done.
import type { Attributes, MeterProvider, Tracer, TracerProvider } from '@opentelemetry/api';
import type { AnyActorLogic, AnyActorRef, InspectionEvent } from 'xstate';
import type { CoordinatorOutput } from '../../machines/coordinator.ts';
import { ActorSpans } from './actor-spans.ts';
import { MetricsRecorder } from './metrics-recorder.ts';
import { tracedModelClient } from './model-spans.ts';
import { otelScope } from './otel-scope.ts';
import { measureRun } from './run-measurements.ts';
import type { RunTelemetry, Telemetry } from './telemetry.ts';

export const INSTRUMENTATION_SCOPE = 'memories-pipeline';

export interface TelemetryProviders {
  tracerProvider?: TracerProvider & { forceFlush?(): Promise<void>; shutdown?(): Promise<void> };
  meterProvider?: MeterProvider & { forceFlush?(): Promise<void>; shutdown?(): Promise<void> };
  /** Set on every span ([otel] span_attributes). */
  spanAttributes?: Attributes;
  metricsUrl?: string | null;
  /** Stops what the providers do not own (the /metrics server). */
  onShutdown?(): Promise<void>;
  /** Told when a flush or the final export fails (the collector is down); telemetry never fails a run. */
  onExportError?(error: unknown): void;
}

export function telemetryFromProviders(providers: TelemetryProviders): Telemetry {
  const { tracerProvider, meterProvider } = providers;
  const tracer = tracerProvider?.getTracer(INSTRUMENTATION_SCOPE);
  const recorder = meterProvider ? new MetricsRecorder(meterProvider.getMeter(INSTRUMENTATION_SCOPE)) : null;
  const common = providers.spanAttributes ?? {};
  return {
    metricsUrl: providers.metricsUrl ?? null,
    startRun(): RunTelemetry {
      const spans = tracer ? new ActorSpans(tracer, common) : null;
      return {
        inspect(event: InspectionEvent) {
          spans?.inspect(event);
          const root = event.type === '@xstate.snapshot' && (event.actorRef as AnyActorRef)._parent === undefined;
          if (!root) return;
          const snapshot = event.snapshot as { status: string; output?: unknown };
          if (snapshot.status === 'done' && recorder) recorder.record(measureRun(snapshot.output as CoordinatorOutput));
          if (snapshot.status !== 'active') spans?.endAll();
        },
        model: (client) => (tracer ? tracedModelClient(client) : client),
        actors<T extends Record<string, AnyActorLogic>>(actors: T): T {
          if (!tracer || !spans) return actors;
          const bound = Object.entries(actors).map(([name, logic]) => [name, startInMachineScope(logic, spans, tracer, common)]);
          return Object.fromEntries(bound) as T;
        },
      };
    },
    flush: () => settle(providers, [tracerProvider?.forceFlush?.(), meterProvider?.forceFlush?.()]),
    async shutdown() {
      await settle(providers, [tracerProvider?.shutdown?.(), meterProvider?.shutdown?.()]);
      await settle(providers, [providers.onShutdown?.()]);
    },
  };
}

/** The logic, its `start` run inside the span of the machine that invoked it (promise actors; machines as they are). */
function startInMachineScope(logic: AnyActorLogic, spans: ActorSpans, tracer: Tracer, common: Attributes): AnyActorLogic {
  const start = logic.start;
  if (!start || 'root' in logic) return logic;
  return {
    ...logic,
    start: (state, scope) => {
      const context = spans.contextOf(scope.self._parent);
      if (!context) return start(state, scope);
      return otelScope(tracer, context, common).run(() => start(state, scope));
    },
  };
}

async function settle(providers: TelemetryProviders, work: Array<Promise<void> | undefined>): Promise<void> {
  for (const result of await Promise.allSettled(work)) {
    if (result.status === 'rejected') providers.onExportError?.(result.reason);
  }
}
