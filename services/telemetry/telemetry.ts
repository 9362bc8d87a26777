// What the pipeline knows of telemetry: two interfaces, no OpenTelemetry import. A host that configured no
// exporter passes none and the pipeline runs exactly as before; run-telemetry.ts implements them.
import type { AnyActorLogic, InspectionEvent } from 'xstate';
import type { ModelClient } from '../model/model-client.ts';

export interface Telemetry {
  /** Instruments one pipeline run (one coordinator actor). */
  startRun(): RunTelemetry;
  /** The Prometheus endpoint, when one was asked for (`watch --metrics-port`). */
  readonly metricsUrl: string | null;
  /** Exports what is buffered. Never rejects: a failed export is reported, not thrown. */
  flush(): Promise<void>;
  /** Exports what is buffered and stops the exporters (and the /metrics server). Never rejects. */
  shutdown(): Promise<void>;
}

export interface RunTelemetry {
  /** Give to createActor: spans of the run's machines, and the five instruments once the run is done. */
  readonly inspect: (event: InspectionEvent) => void;
  /** The client with a span per model call. */
  model(client: ModelClient): ModelClient;
  /** The same actors, each started inside its machine's span, so the work it does finds its parent span. */
  actors<T extends Record<string, AnyActorLogic>>(actors: T): T;
}
