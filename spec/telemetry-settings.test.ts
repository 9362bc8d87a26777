// Where telemetry goes: the standard OTEL_* variables, then config.toml's [otel] table as Codex defines it; with
// neither, nothing is configured and the SDK is never loaded.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadCodexConfig } from '../services/config/codex-config.ts';
import { parseOtelTable } from '../services/config/otel-config.ts';
import { resolveTelemetrySettings, telemetryConfigured } from '../services/telemetry/settings.ts';
import { tempCodexHome } from './support/codex-home.ts';

const CODEX_OTEL = `
[otel]
environment = "staging"
log_user_prompt = true
span_attributes = { team = "platform" }
exporter = { otlp-http = { endpoint = "https://collector.example/v1/logs", protocol = "binary", headers = { "x-otlp-api-key" = "k" } } }
metrics_exporter = { otlp-grpc = { endpoint = "https://collector.example:4317", headers = { "x-meta" = "m" }, tls = { ca-certificate = "certs/ca.pem" } } }

[otel.tracestate.vendor]
sampled = "1"
`;

describe('telemetry settings', () => {
  it('configures nothing without OTEL_* variables or an [otel] table', () => {
    const settings = resolveTelemetrySettings({ env: {}, otel: null });
    expect(telemetryConfigured(settings)).toBe(false);
    expect(settings).toMatchObject({ traces: null, metrics: null, prometheus: null, environment: 'dev' });
  });

  it("loads a Codex [otel] table: traces fall back to the log exporter's endpoint, moved to /v1/traces", async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await writeFile(join(home, 'config.toml'), CODEX_OTEL);
      const { otel } = await loadCodexConfig(home);
      const settings = resolveTelemetrySettings({ env: {}, otel });
      expect(settings.traces).toEqual({
        protocol: 'http/protobuf',
        url: 'https://collector.example/v1/traces',
        headers: { 'x-otlp-api-key': 'k' },
        source: 'config.toml otel.exporter',
      });
      expect(settings.metrics).toEqual({
        protocol: 'grpc',
        url: 'https://collector.example:4317',
        headers: { 'x-meta': 'm' },
        tls: { caCertificate: join(home, 'certs/ca.pem') },
        source: 'config.toml otel.metrics_exporter',
      });
      expect(settings.environment).toBe('staging');
      expect(settings.spanAttributes).toEqual({ team: 'platform' });
      expect(settings.ignored.map((line) => line.split(' ')[0])).toEqual(['otel.log_user_prompt', 'otel.tracestate']);
    } finally {
      await cleanup();
    }
  });

  it('lets the environment win per signal, and OTEL_*_EXPORTER=none or OTEL_SDK_DISABLED turn a signal off', () => {
    const otel = parseOtelTable(
      {
        trace_exporter: { 'otlp-http': { endpoint: 'http://file/v1/traces', protocol: 'json' } },
        metrics_exporter: { 'otlp-http': { endpoint: 'http://file/v1/metrics', protocol: 'json' } },
      },
      'config.toml',
      '',
      '/home',
    );
    const env = { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://env:4318/v1/traces', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
    const settings = resolveTelemetrySettings({ env, otel });
    expect(settings.traces).toEqual({ protocol: 'http/json', source: 'env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' });
    expect(settings.metrics?.url).toBe('http://file/v1/metrics');

    expect(resolveTelemetrySettings({ env: { OTEL_METRICS_EXPORTER: 'none' }, otel }).metrics).toBeNull();
    const disabled = resolveTelemetrySettings({ env: { ...env, OTEL_SDK_DISABLED: 'true' }, otel });
    expect([disabled.traces, disabled.metrics]).toEqual([null, null]);
  });

  it('reads the protocol per signal, with http/protobuf as the OTLP default', () => {
    const env = {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
    };
    const settings = resolveTelemetrySettings({ env });
    expect(settings.traces?.protocol).toBe('http/protobuf');
    expect(settings.metrics?.protocol).toBe('grpc');
    expect(() => resolveTelemetrySettings({ env: { ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'udp' } })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL must be one of/,
    );
  });

  it("exports nothing for Codex's statsig sink and says that it is ignored", () => {
    const otel = parseOtelTable({ metrics_exporter: 'statsig', exporter: 'none' }, 'config.toml', '', '/home');
    const settings = resolveTelemetrySettings({ env: {}, otel });
    expect(telemetryConfigured(settings)).toBe(false);
    expect(settings.ignored).toEqual([expect.stringContaining('statsig')]);
  });

  it('rejects an unknown [otel] key, naming its line, and an otlp-http exporter without a protocol', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await writeFile(join(home, 'config.toml'), 'model = "x"\n\n[otel]\nenviroment = "prod"\n');
      await expect(loadCodexConfig(home)).rejects.toThrow(/line 4: unknown key otel\.enviroment/);
      const noProtocol = { exporter: { 'otlp-http': { endpoint: 'http://x' } } };
      expect(() => parseOtelTable(noProtocol, 'config.toml', '', home)).toThrow(/protocol must be "binary" or "json"/);
    } finally {
      await cleanup();
    }
  });

  it('loads no OpenTelemetry module when nothing is configured, and the SDK once an endpoint is', async () => {
    // A fresh process: the CLI's commands imported and telemetry started, then the CommonJS module cache read.
    const probe = `
      import { createRequire } from 'node:module';
      const loaded = () => Object.keys(createRequire(import.meta.url).cache).filter((p) => /@opentelemetry|@grpc/.test(p)).length;
      const { startTelemetry } = await import('./services/telemetry/setup.ts');
      await Promise.all(['run', 'watch', 'status'].map((c) => import('./scripts/commands/' + c + '.ts')));
      const none = { configured: (await startTelemetry({ otel: null, env: {} })) !== undefined, loaded: loaded() };
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' };
      const telemetry = await startTelemetry({ otel: null, env });
      console.log(JSON.stringify({ none, endpoint: { configured: telemetry !== undefined, loaded: loaded() } }));
      await telemetry.shutdown();`;
    const args = ['--import', 'tsx', '--input-type=module', '-e', probe];
    const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: join(import.meta.dirname, '..') });
    const seen = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(seen.none).toEqual({ configured: false, loaded: 0 });
    expect(seen.endpoint.configured).toBe(true);
    expect(seen.endpoint.loaded).toBeGreaterThan(0);
  });
});
