// The OTLP exporters of each protocol, imported only when chosen: the gRPC one brings @grpc/grpc-js along.
// A spec from config.toml carries its URL, headers and TLS files; one from the environment carries none, and the
// exporter reads OTEL_EXPORTER_OTLP_* itself (endpoint with the /v1/<signal> path, headers, timeout, compression).
import { readFileSync } from 'node:fs';
import type { PushMetricExporter } from '@opentelemetry/sdk-metrics';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import type { OtelTls } from '../config/otel-config.ts';
import { ConfigError } from '../errors.ts';
import type { OtlpExporterSpec } from './settings.ts';

export async function spanExporter(spec: OtlpExporterSpec): Promise<SpanExporter> {
  switch (spec.protocol) {
    case 'http/json':
      return new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter(httpOptions(spec));
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter(httpOptions(spec));
    case 'grpc':
      return new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter(await grpcOptions(spec));
  }
}

export async function metricExporter(spec: OtlpExporterSpec): Promise<PushMetricExporter> {
  switch (spec.protocol) {
    case 'http/json':
      return new (await import('@opentelemetry/exporter-metrics-otlp-http')).OTLPMetricExporter(httpOptions(spec));
    case 'http/protobuf':
      return new (await import('@opentelemetry/exporter-metrics-otlp-proto')).OTLPMetricExporter(httpOptions(spec));
    case 'grpc':
      return new (await import('@opentelemetry/exporter-metrics-otlp-grpc')).OTLPMetricExporter(await grpcOptions(spec));
  }
}

function httpOptions(spec: OtlpExporterSpec) {
  return {
    ...(spec.url ? { url: spec.url } : {}),
    ...(spec.headers ? { headers: spec.headers } : {}),
    ...(spec.tls ? { httpAgentOptions: tlsFiles(spec.tls, spec.source) } : {}),
  };
}

async function grpcOptions(spec: OtlpExporterSpec) {
  const grpc = await import('@grpc/grpc-js');
  const metadata = new grpc.Metadata();
  for (const [name, value] of Object.entries(spec.headers ?? {})) metadata.set(name, value);
  const credentials = spec.tls
    ? (({ ca, key, cert }) => grpc.credentials.createSsl(ca, key, cert))(tlsFiles(spec.tls, spec.source))
    : undefined;
  return { ...(spec.url ? { url: spec.url } : {}), metadata, ...(credentials ? { credentials } : {}) };
}

/** Read once at start-up: a missing certificate is a configuration error, said before any run. */
function tlsFiles(tls: OtelTls, source: string): { ca?: Buffer; cert?: Buffer; key?: Buffer } {
  const read = (path: string | undefined) => {
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new ConfigError(`${source}: cannot read ${path}: ${(error as Error).message}`);
    }
  };
  return { ca: read(tls.caCertificate), cert: read(tls.clientCertificate), key: read(tls.clientPrivateKey) };
}
