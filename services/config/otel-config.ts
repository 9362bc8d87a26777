// The [otel] table of config.toml as Codex defines it (codex-rs config types: OtelConfigToml). Codex rejects
// an unknown key there, so this does too, naming its line: a typo must not silently turn telemetry off.
// Which keys this tool acts on, and which it reads and ignores, is services/telemetry/settings.ts's business.
import { isAbsolute, join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { lineOfKey } from './toml-lines.ts';

export interface OtelTls {
  caCertificate?: string;
  clientCertificate?: string;
  clientPrivateKey?: string;
}

/** Codex's OtelExporterKind: `"none"`, `"statsig"` (Codex's own metrics sink), or one OTLP exporter. */
export type OtelExporterKind =
  | { kind: 'none' }
  | { kind: 'statsig' }
  | { kind: 'otlp-http'; endpoint: string; headers: Record<string, string>; protocol: 'binary' | 'json'; tls?: OtelTls }
  | { kind: 'otlp-grpc'; endpoint: string; headers: Record<string, string>; tls?: OtelTls };

export interface OtelFileConfig {
  logUserPrompt?: boolean;
  environment?: string;
  /** Codex's log exporter; traces fall back to it, as in Codex. */
  exporter?: OtelExporterKind;
  traceExporter?: OtelExporterKind;
  metricsExporter?: OtelExporterKind;
  spanAttributes?: Record<string, string>;
  /** W3C tracestate entries Codex propagates; read so the table loads, unused here. */
  tracestate?: Record<string, Record<string, string>>;
}

const EXPORTER_KEYS = { exporter: 'exporter', trace_exporter: 'traceExporter', metrics_exporter: 'metricsExporter' } as const;
const TLS_KEYS = {
  'ca-certificate': 'caCertificate',
  'client-certificate': 'clientCertificate',
  'client-private-key': 'clientPrivateKey',
} as const;

/** Parses `[otel]`; null when config.toml has none. TLS paths are resolved against the Codex home, as Codex does. */
export function parseOtelTable(table: unknown, file: string, text: string, codexHome: string): OtelFileConfig | null {
  if (table === undefined) return null;
  const at = (key: string) => {
    const line = lineOfKey(text, 'otel', key);
    return `${file}${line === null ? '' : ` line ${line}`}`;
  };
  const otel = asTable(table, `${file}: [otel] must be a table`);
  const config: OtelFileConfig = {};
  for (const [key, value] of Object.entries(otel)) {
    if (key === 'log_user_prompt') config.logUserPrompt = bool(value, `${at(key)}: otel.log_user_prompt must be true or false`);
    else if (key === 'environment') config.environment = nonEmptyString(value, `${at(key)}: otel.environment must be a string`);
    else if (key in EXPORTER_KEYS) {
      config[EXPORTER_KEYS[key as keyof typeof EXPORTER_KEYS]] = exporterKind(value, `${at(key)}: otel.${key}`, codexHome);
    } else if (key === 'span_attributes') config.spanAttributes = stringMap(value, `${at(key)}: otel.span_attributes`);
    else if (key === 'tracestate') {
      const members = asTable(value, `${at(key)}: otel.tracestate must be a table`);
      config.tracestate = Object.fromEntries(
        Object.entries(members).map(([name, fields]) => [name, stringMap(fields, `${at(key)}: otel.tracestate.${name}`)]),
      );
    } else throw new ConfigError(`${at(key)}: unknown key otel.${key}`);
  }
  return config;
}

function exporterKind(value: unknown, where: string, codexHome: string): OtelExporterKind {
  if (value === 'none' || value === 'statsig') return { kind: value };
  const table = asTable(value, `${where} must be "none", "statsig", { otlp-http = {…} } or { otlp-grpc = {…} }`);
  const kinds = Object.keys(table);
  const kind = kinds[0];
  if (kinds.length !== 1 || (kind !== 'otlp-http' && kind !== 'otlp-grpc')) {
    throw new ConfigError(`${where} must hold exactly one of otlp-http or otlp-grpc, not ${kinds.join(', ') || 'nothing'}`);
  }
  const fields = asTable(table[kind], `${where}.${kind} must be a table`);
  const allowed = kind === 'otlp-http' ? ['endpoint', 'headers', 'protocol', 'tls'] : ['endpoint', 'headers', 'tls'];
  for (const name of Object.keys(fields)) {
    if (!allowed.includes(name)) throw new ConfigError(`${where}.${kind}: unknown key ${name}`);
  }
  const endpoint = nonEmptyString(fields.endpoint, `${where}.${kind}.endpoint must be a URL string`);
  if (!/^https?:\/\//.test(endpoint)) throw new ConfigError(`${where}.${kind}.endpoint must start with http:// or https://`);
  const headers = fields.headers === undefined ? {} : stringMap(fields.headers, `${where}.${kind}.headers`);
  const tls = fields.tls === undefined ? undefined : tlsOf(fields.tls, `${where}.${kind}.tls`, codexHome);
  if (kind === 'otlp-grpc') return { kind, endpoint, headers, ...(tls ? { tls } : {}) };
  // Codex requires the protocol of an otlp-http exporter: "binary" (protobuf) or "json".
  if (fields.protocol !== 'binary' && fields.protocol !== 'json') {
    throw new ConfigError(`${where}.otlp-http.protocol must be "binary" or "json"`);
  }
  return { kind, endpoint, headers, protocol: fields.protocol, ...(tls ? { tls } : {}) };
}

function tlsOf(value: unknown, where: string, codexHome: string): OtelTls {
  const table = asTable(value, `${where} must be a table`);
  const tls: OtelTls = {};
  for (const [name, path] of Object.entries(table)) {
    const field = TLS_KEYS[name as keyof typeof TLS_KEYS];
    if (!field) throw new ConfigError(`${where}: unknown key ${name}`);
    const given = nonEmptyString(path, `${where}.${name} must be a path`);
    tls[field] = isAbsolute(given) ? given : join(codexHome, given);
  }
  if ((tls.clientCertificate === undefined) !== (tls.clientPrivateKey === undefined)) {
    throw new ConfigError(`${where}: client-certificate and client-private-key go together (mutual TLS)`);
  }
  return tls;
}

function asTable(value: unknown, message: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(message);
  return value as Record<string, unknown>;
}

function stringMap(value: unknown, where: string): Record<string, string> {
  const table = asTable(value, `${where} must be a table of strings`);
  for (const [name, item] of Object.entries(table)) {
    if (typeof item !== 'string') throw new ConfigError(`${where}.${name} must be a string`);
  }
  return table as Record<string, string>;
}

function bool(value: unknown, message: string): boolean {
  if (typeof value !== 'boolean') throw new ConfigError(message);
  return value;
}

function nonEmptyString(value: unknown, message: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(message);
  return value;
}
