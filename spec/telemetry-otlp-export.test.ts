// `memories run` exporting over OTLP/HTTP JSON, configured by the standard OTEL_* variables alone, to a real HTTP
// receiver on 127.0.0.1: the five instruments and the run's trace arrive before the process exits, `--json`
// carries the same counts under the instrument names, and `status --json` shows them afterwards.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { statusCommand } from '../scripts/commands/status.ts';
import { parseOtelTable } from '../services/config/otel-config.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { startTelemetry } from '../services/telemetry/setup.ts';
import { type CliResult, memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

const INSTRUMENTS = [
  'codex.memory.phase1',
  'codex.memory.phase1.output',
  'codex.memory.phase1.token_usage',
  'codex.memory.phase2',
  'codex.memory.phase2.input',
];

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
}

let home: string;
let cleanup: () => Promise<void>;
let model: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
let receiver: Server;
const received: Array<{ path: string; contentType: string; body: any }> = [];
let result: CliResult;

beforeAll(async () => {
  ({ home, cleanup } = await tempCodexHome());
  model = await startLocalOpenAIServer({ handler: scriptedHandler() });
  receiver = createServer(async (request, response) => {
    const text = (await buffer(request)).toString('utf8');
    received.push({ path: request.url ?? '', contentType: request.headers['content-type'] ?? '', body: JSON.parse(text) });
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const { port } = receiver.address() as AddressInfo;
  await installFixtureRollouts(home);
  result = await memories(['run', '--codex-home', home, '--base-url', model.url, '--json'], {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_SERVICE_NAME: 'memories-under-test',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=spec',
  });
}, 60_000);
afterAll(async () => {
  await new Promise((resolve) => receiver.close(resolve));
  await model.close();
  await cleanup();
});

const bodies = (path: string) => received.filter((r) => r.path === path).map((r) => r.body);
const spans = (): OtlpSpan[] =>
  bodies('/v1/traces').flatMap((b) => b.resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)));

describe('OTLP/HTTP JSON export from `memories run`', () => {
  it('sends all five instruments, as JSON, before the process exits', () => {
    expect(result.code, result.stderr).toBe(0);
    expect(received.every((r) => r.contentType.startsWith('application/json'))).toBe(true);
    const names = bodies('/v1/metrics').flatMap((b) =>
      b.resourceMetrics.flatMap((rm: any) => rm.scopeMetrics.flatMap((sm: any) => sm.metrics.map((m: any) => m.name))),
    );
    expect(new Set(names)).toEqual(new Set(INSTRUMENTS));
  });

  it("sends the run's trace: one trace whose root is the run, with its phases, extractions and model calls", () => {
    const all = spans();
    const root = all.find((s) => s.name === 'memories.run')!;
    expect(root).toBeDefined();
    expect(root.parentSpanId ?? '').toBe('');
    expect(new Set(all.map((s) => s.traceId))).toEqual(new Set([root.traceId]));
    const count = (name: string) => all.filter((s) => s.name === name).length;
    expect([count('memories.phase1'), count('memories.phase2'), count('memories.consolidation')]).toEqual([1, 1, 1]);
    expect(count('memories.extraction')).toBe(5);
    expect(count('chat gpt-5.3-codex-spark')).toBe(5);
    const resource = bodies('/v1/traces')[0].resourceSpans[0].resource.attributes;
    const attribute = (key: string) => resource.find((a: any) => a.key === key)?.value.stringValue;
    expect([attribute('service.name'), attribute('deployment.environment.name'), attribute('env')]).toEqual([
      'memories-under-test',
      'spec',
      'dev',
    ]);
  });

  it('prints the same counts under the instrument names in --json, and `status --json` shows them after the run', async () => {
    const { metrics } = JSON.parse(result.stdout);
    expect(metrics).toEqual({
      'codex.memory.phase1': { claimed: 5, succeeded: 5 },
      'codex.memory.phase1.output': 5,
      'codex.memory.phase1.token_usage': expect.objectContaining({ cached_input: 0, reasoning_output: 0 }),
      'codex.memory.phase2': { claimed: 1, agent_spawned: 1, succeeded: 1 },
      'codex.memory.phase2.input': 5,
    });
    const usage = metrics['codex.memory.phase1.token_usage'];
    expect(usage.total).toBe(usage.input + usage.output);

    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      await statusCommand({ codexHome: home, json: true });
      const status = JSON.parse(String(out.mock.calls.map((call) => call[0]).join('')));
      expect(status.lastRun).toMatchObject({ command: 'run', metrics });
    } finally {
      out.mockRestore();
    }
  });

  it('costs a warning, never the run, when the collector is down', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const exporter = (signal: string) => ({
      'otlp-http': { endpoint: `http://127.0.0.1:${port}/v1/${signal}`, protocol: 'json' },
    });
    const otel = parseOtelTable(
      { trace_exporter: exporter('traces'), metrics_exporter: exporter('metrics') },
      'config.toml',
      '',
      home,
    );
    const notices: string[] = [];
    // The exporters retry until OTEL_EXPORTER_OTLP_TIMEOUT (10 s by default), which is also what exit waits at most.
    vi.stubEnv('OTEL_EXPORTER_OTLP_TIMEOUT', '300');
    const telemetry = await startTelemetry({ otel, env: {}, notice: (line) => notices.push(line) });
    vi.unstubAllEnvs();
    const client = createModelClient({ apiKey: 'test', baseURL: model.url, wireApi: 'responses' });
    const output = await runPipeline({ codexHome: home, model: client, telemetry, phase: '1' });
    await telemetry!.shutdown();
    expect(output.phase1?.error).toBeNull();
    expect(notices.length).toBeGreaterThan(0);
    for (const line of notices) expect(line).toMatch(/^telemetry not exported: .*ECONNREFUSED/);
  });
});
