// The OpenTelemetry SDK set up from resolved settings: a tracer provider with a batching OTLP exporter, a meter
// provider with a periodic OTLP reader and/or the Prometheus endpoint. Imported only through setup.ts, and only
// when something is configured.
import { defaultResource, detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { type IMetricReader, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { ConfigError } from '../errors.ts';
import { metricExporter, spanExporter } from './exporters.ts';
import { packageVersion } from '../package-version.ts';
import { type PrometheusEndpoint, startPrometheusEndpoint } from './prometheus-endpoint.ts';
import { INSTRUMENTATION_SCOPE, telemetryFromProviders } from './run-telemetry.ts';
import type { TelemetrySettings } from './settings.ts';
import type { Telemetry } from './telemetry.ts';

const DEFAULT_EXPORT_INTERVAL_MS = 60_000;

export async function createTelemetry(
  settings: TelemetrySettings,
  env: NodeJS.ProcessEnv = process.env,
  onExportError?: (error: unknown) => void,
): Promise<Telemetry> {
  const version = packageVersion();
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (the env detector) win over these defaults.
  const resource = defaultResource()
    .merge(
      resourceFromAttributes({ 'service.name': INSTRUMENTATION_SCOPE, 'service.version': version, env: settings.environment }),
    )
    .merge(detectResources({ detectors: [envDetector] }));

  const tracerProvider = settings.traces
    ? new TracerProvider({
        resource,
        spanProcessors: [new BatchSpanProcessor({ exporter: await spanExporter(settings.traces) })],
      })
    : undefined;

  const readers: IMetricReader[] = [];
  if (settings.metrics) {
    const interval =
      Number(env.OTEL_METRIC_EXPORT_INTERVAL) > 0 ? Number(env.OTEL_METRIC_EXPORT_INTERVAL) : DEFAULT_EXPORT_INTERVAL_MS;
    const exporter = await metricExporter(settings.metrics);
    readers.push(
      new PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: interval,
        exportTimeoutMillis: Math.min(interval, 30_000),
      }),
    );
  }
  let prometheus: PrometheusEndpoint | undefined;
  if (settings.prometheus) {
    const { host, port } = settings.prometheus;
    prometheus = await startPrometheusEndpoint(host, port).catch((error: Error) => {
      throw new ConfigError(`cannot serve /metrics on ${host}:${port}: ${error.message}`);
    });
    readers.push(prometheus.reader);
  }
  const meterProvider = readers.length > 0 ? new MeterProvider({ resource, readers }) : undefined;

  return telemetryFromProviders({
    tracerProvider,
    meterProvider,
    spanAttributes: settings.spanAttributes,
    metricsUrl: prometheus?.url ?? null,
    onShutdown: () => prometheus?.close() ?? Promise.resolve(),
    onExportError,
  });
}
