// The CLI's way in: settings from the environment and config.toml's [otel]; with nothing configured, no
// telemetry and not one OpenTelemetry module loaded. Otherwise the SDK is imported and set up; it is an optional
// install, and without it a configured exporter is one line saying what to install.
import type { OtelFileConfig } from '../config/otel-config.ts';
import { withOptionalPackages } from '../optional-module.ts';
import { resolveTelemetrySettings, telemetryConfigured } from './settings.ts';
import type { Telemetry } from './telemetry.ts';

export interface TelemetryOptions {
  otel: OtelFileConfig | null;
  /** `watch --metrics-port` (and --metrics-host). */
  prometheus?: { host: string; port: number } | null;
  /**
   * The environment that decides what is configured (default process.env). The OTLP exporters themselves read
   * OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout, certificates) from process.env, as the SDK does.
   */
  env?: NodeJS.ProcessEnv;
  /** Told about [otel] settings that have no effect here, and about exports that failed. */
  notice?(line: string): void;
}

export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry | undefined> {
  const env = options.env ?? process.env;
  const settings = resolveTelemetrySettings({ env, otel: options.otel, prometheus: options.prometheus });
  for (const key of settings.ignored) options.notice?.(`config.toml ${key} is read and ignored`);
  if (!telemetryConfigured(settings)) return undefined;
  return withOptionalPackages(TELEMETRY_FEATURE, TELEMETRY_PACKAGES, async () => {
    const { createTelemetry } = await import('./sdk.ts');
    return createTelemetry(settings, env, (error) => options.notice?.(`telemetry not exported: ${exportFailure(error)}`));
  });
}

const TELEMETRY_FEATURE = 'OpenTelemetry export (config.toml [otel], OTEL_* variables or watch --metrics-port)';
/** The SDK and every exporter (optional peer dependencies): one install line enables any [otel] setting. */
const TELEMETRY_PACKAGES = [
  '@opentelemetry/resources',
  '@opentelemetry/sdk-metrics',
  '@opentelemetry/sdk-trace',
  '@opentelemetry/exporter-trace-otlp-http',
  '@opentelemetry/exporter-trace-otlp-proto',
  '@opentelemetry/exporter-trace-otlp-grpc',
  '@opentelemetry/exporter-metrics-otlp-http',
  '@opentelemetry/exporter-metrics-otlp-proto',
  '@opentelemetry/exporter-metrics-otlp-grpc',
  '@opentelemetry/exporter-prometheus',
  '@grpc/grpc-js',
] as const;

/** One line: an exporter's error can be an Error, an array of them, or a gRPC status object. */
function exportFailure(error: unknown): string {
  const first = Array.isArray(error) ? error[0] : error;
  const text = first instanceof Error ? first.message : String(first);
  return text.split('\n')[0] ?? text;
}
