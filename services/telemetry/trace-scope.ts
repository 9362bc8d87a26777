// The span a piece of a run's work belongs to, carried along its async calls. The actor system starts each
// invoked service (a `fromPromise` actor) inside its machine's span (see run-telemetry.ts), so a model call or an
// agent turn deep inside finds its parent without a span threaded through every signature.
//
// This is the one module-level object of the telemetry code, and it holds no run's state: an AsyncLocalStorage
// only hands each async call chain the scope that chain was started with (OpenTelemetry's own context manager
// works the same way). Nothing here imports OpenTelemetry, so code that asks for a scope costs nothing when no
// exporter is configured: there is then never a scope to find.
import { AsyncLocalStorage } from 'node:async_hooks';

export type SpanAttributes = Record<string, string | number | boolean>;

/** A span as the pipeline's code sees it. */
export interface SpanHandle {
  setAttributes(attributes: SpanAttributes): void;
  addEvent(name: string, attributes?: SpanAttributes): void;
  /** Marks the span failed with an error kind (a class name, a status word), never a message: messages can quote text. */
  fail(errorType: string): void;
  end(): void;
}

export interface TraceScope {
  /** A span under this scope's span. */
  startSpan(name: string, attributes: SpanAttributes, kind?: 'client' | 'internal'): SpanHandle;
  /** The scope whose spans are children of `span`. */
  under(span: SpanHandle): TraceScope;
  /** Runs `fn` (and the async work it starts) with this scope as the active one. */
  run<T>(fn: () => T): T;
}

const scopes = new AsyncLocalStorage<TraceScope>();

/** The scope of the running work, or undefined when nothing is being traced. */
export const activeTraceScope = (): TraceScope | undefined => scopes.getStore();

export const runInTraceScope = <T>(scope: TraceScope, fn: () => T): T => scopes.run(scope, fn);

/** The kind of a failure for a span: an error's class name, never its message. */
export function errorKind(error: unknown): string {
  if (error instanceof Error) return error.name || 'Error';
  return typeof error;
}
