// trace-scope.ts's interfaces over the OpenTelemetry API. Loaded only with an exporter configured.
import { type Attributes, type Context, type Span, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { runInTraceScope, type SpanAttributes, type SpanHandle, type TraceScope } from './trace-scope.ts';

export class OtelSpan implements SpanHandle {
  constructor(readonly span: Span) {}

  setAttributes(attributes: SpanAttributes): void {
    this.span.setAttributes(attributes);
  }

  addEvent(name: string, attributes?: SpanAttributes): void {
    this.span.addEvent(name, attributes);
  }

  fail(errorType: string): void {
    this.span.setAttribute('error.type', errorType);
    // The description is the kind again: an error message could quote a transcript.
    this.span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
  }

  end(): void {
    this.span.end();
  }
}

/** Spans started from this scope are children of `context`'s span and carry `common` ([otel] span_attributes). */
export function otelScope(tracer: Tracer, context: Context, common: Attributes): TraceScope {
  const scope: TraceScope = {
    startSpan(name, attributes, kind = 'internal') {
      const spanKind = kind === 'client' ? SpanKind.CLIENT : SpanKind.INTERNAL;
      return new OtelSpan(tracer.startSpan(name, { kind: spanKind, attributes: { ...common, ...attributes } }, context));
    },
    under: (span) => (span instanceof OtelSpan ? otelScope(tracer, trace.setSpan(context, span.span), common) : scope),
    run: (fn) => runInTraceScope(scope, fn),
  };
  return scope;
}
