// Telemetry over the SDK's in-memory exporters: what a run recorded, read back exactly.
import {
  AggregationTemporality,
  DataPointType,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { telemetryFromProviders } from '../../services/telemetry/run-telemetry.ts';
import type { Telemetry } from '../../services/telemetry/telemetry.ts';

export interface RecordedPoint {
  name: string;
  unit: string;
  /** 'monotonic sum' for a counter, 'histogram' for a histogram. */
  kind: string;
  attributes: Record<string, unknown>;
  /** A counter's sum, or a histogram's sum (each run records a histogram value once). */
  value: number;
  count?: number;
}

export interface InMemoryTelemetry {
  telemetry: Telemetry;
  /** Every ended span, after a flush. */
  spans(): Promise<ReadableSpan[]>;
  /** Every data point of the five instruments, after a flush. */
  points(): Promise<RecordedPoint[]>;
}

export function inMemoryTelemetry(spanAttributes: Record<string, string> = {}): InMemoryTelemetry {
  const spanExporter = new InMemorySpanExporter();
  const tracerProvider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter: spanExporter })] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // Never on a timer: the test flushes, so what it reads does not depend on time.
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 2 ** 31 - 1 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  const telemetry = telemetryFromProviders({ tracerProvider, meterProvider, spanAttributes });
  return {
    telemetry,
    async spans() {
      await telemetry.flush();
      return spanExporter.getFinishedSpans();
    },
    async points() {
      await telemetry.flush();
      const last = metricExporter.getMetrics().at(-1);
      const metrics = last?.scopeMetrics.flatMap((scope) => scope.metrics) ?? [];
      return metrics.flatMap((metric) =>
        metric.dataPoints.map((point) => {
          const value = point.value as number | { sum: number; count: number };
          const kind =
            metric.dataPointType === DataPointType.HISTOGRAM
              ? 'histogram'
              : 'isMonotonic' in metric && metric.isMonotonic
                ? 'monotonic sum'
                : 'other';
          const base = { name: metric.descriptor.name, unit: metric.descriptor.unit, kind, attributes: { ...point.attributes } };
          return typeof value === 'number' ? { ...base, value } : { ...base, value: value.sum, count: value.count };
        }),
      );
    },
  };
}
