// Where telemetry goes, decided without loading any of the OpenTelemetry SDK: with nothing configured the CLI
// must not pay its ~100 ms of imports. Per signal (traces, metrics) the first that applies wins:
//   1. OTEL_SDK_DISABLED=true: no OTLP export at all;
//   2. OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER: `none` turns the signal off, `otlp` turns it on from the
//      environment (an exporter reads OTEL_EXPORTER_OTLP_* itself: endpoint, headers, timeout, certificates);
//   3. OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_<SIGNAL>_ENDPOINT: on, from the environment;
//   4. config.toml [otel]: traces from trace_exporter (else exporter, as Codex falls back), metrics from
//      metrics_exporter; `none` and `statsig` (Codex's own sink at OpenAI) export nothing here.
// The environment wins over config.toml because config.toml is shared with Codex, and the environment is how an
// operator points one process elsewhere. Nothing configured means nothing recorded.
import type { OtelFileConfig, OtelExporterKind, OtelTls } from '../config/otel-config.ts';
import { ConfigError } from '../errors.ts';

export type OtlpProtocol = 'http/protobuf' | 'http/json' | 'grpc';
export type Signal = 'traces' | 'metrics';

export interface OtlpExporterSpec {
  protocol: OtlpProtocol;
  /** The signal's full URL (config.toml); absent, the exporter reads OTEL_EXPORTER_OTLP_* as the OTel spec says. */
  url?: string;
  headers?: Record<string, string>;
  tls?: OtelTls;
  /** Where it came from, for messages: `env OTEL_EXPORTER_OTLP_ENDPOINT`, `config.toml otel.trace_exporter`, … */
  source: string;
}

export interface TelemetrySettings {
  traces: OtlpExporterSpec | null;
  metrics: OtlpExporterSpec | null;
  /** A Prometheus /metrics endpoint (`watch --metrics-port`). */
  prometheus: { host: string; port: number } | null;
  /** Codex's `env` resource attribute ([otel] environment, default "dev"); OTEL_RESOURCE_ATTRIBUTES adds more. */
  environment: string;
  /** [otel] span_attributes, set on every span. */
  spanAttributes: Record<string, string>;
  /** [otel] settings that were read and have no effect here, said once on stderr by the CLI. */
  ignored: string[];
}

export interface TelemetryInputs {
  env?: NodeJS.ProcessEnv;
  otel?: OtelFileConfig | null;
  prometheus?: { host: string; port: number } | null;
}

const PROTOCOLS: readonly OtlpProtocol[] = ['http/protobuf', 'http/json', 'grpc'];
const DEFAULT_ENVIRONMENT = 'dev';

export function resolveTelemetrySettings(inputs: TelemetryInputs): TelemetrySettings {
  const env = inputs.env ?? process.env;
  const otel = inputs.otel ?? null;
  const disabled = env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true';
  const traceKind = otel?.traceExporter ?? otel?.exporter;
  const traceKey = otel?.traceExporter ? 'otel.trace_exporter' : 'otel.exporter';
  const signal = (name: Signal, kind: OtelExporterKind | undefined, key: string) => {
    if (disabled) return null;
    const fromEnvironment = fromEnv(env, name);
    return fromEnvironment === undefined ? fromConfig(kind, key, name) : fromEnvironment;
  };
  return {
    traces: signal('traces', traceKind, traceKey),
    metrics: signal('metrics', otel?.metricsExporter, 'otel.metrics_exporter'),
    prometheus: inputs.prometheus ?? null,
    environment: otel?.environment ?? DEFAULT_ENVIRONMENT,
    spanAttributes: otel?.spanAttributes ?? {},
    ignored: ignoredKeys(otel),
  };
}

export const telemetryConfigured = (settings: TelemetrySettings): boolean =>
  settings.traces !== null || settings.metrics !== null || settings.prometheus !== null;

/** undefined: the environment says nothing about this signal; null: it turns the signal off. */
function fromEnv(env: NodeJS.ProcessEnv, signal: Signal): OtlpExporterSpec | null | undefined {
  const upper = signal.toUpperCase();
  const exporterVar = `OTEL_${upper}_EXPORTER`;
  const chosen = env[exporterVar]
    ?.split(',')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const endpointVar = [`OTEL_EXPORTER_OTLP_${upper}_ENDPOINT`, 'OTEL_EXPORTER_OTLP_ENDPOINT'].find((name) => env[name]?.trim());
  let source: string;
  if (chosen && chosen.length > 0) {
    if (!chosen.includes('otlp')) return null;
    source = `env ${exporterVar}`;
  } else if (endpointVar) {
    source = `env ${endpointVar}`;
  } else {
    return undefined;
  }
  const protocolVar = [`OTEL_EXPORTER_OTLP_${upper}_PROTOCOL`, 'OTEL_EXPORTER_OTLP_PROTOCOL'].find((name) => env[name]?.trim());
  const protocol = (protocolVar ? env[protocolVar]!.trim() : 'http/protobuf') as OtlpProtocol;
  if (!PROTOCOLS.includes(protocol)) {
    throw new ConfigError(`${protocolVar} must be one of ${PROTOCOLS.join(', ')}, not '${protocol}'`);
  }
  return { protocol, source };
}

function fromConfig(kind: OtelExporterKind | undefined, key: string, signal: Signal): OtlpExporterSpec | null {
  if (kind === undefined || kind.kind === 'none' || kind.kind === 'statsig') return null;
  const source = `config.toml ${key}`;
  const tls = kind.tls ? { tls: kind.tls } : {};
  if (kind.kind === 'otlp-grpc') return { protocol: 'grpc', url: kind.endpoint, headers: kind.headers, ...tls, source };
  const protocol = kind.protocol === 'json' ? 'http/json' : 'http/protobuf';
  return { protocol, url: signalUrl(kind.endpoint, signal), headers: kind.headers, ...tls, source };
}

/** Codex's exporter endpoints are full URLs; traces that fall back to the log exporter's /v1/logs go to /v1/traces. */
function signalUrl(endpoint: string, signal: Signal): string {
  return signal === 'traces' ? endpoint.replace(/\/v1\/logs\/?$/, '/v1/traces') : endpoint;
}

function ignoredKeys(otel: OtelFileConfig | null): string[] {
  if (!otel) return [];
  const ignored: string[] = [];
  if (otel.logUserPrompt) ignored.push('otel.log_user_prompt (no prompt or transcript text is ever exported here)');
  if (otel.tracestate) ignored.push('otel.tracestate (this tool propagates no trace context)');
  if (otel.metricsExporter?.kind === 'statsig') ignored.push('otel.metrics_exporter = "statsig" (Codex\'s own sink at OpenAI)');
  return ignored;
}
