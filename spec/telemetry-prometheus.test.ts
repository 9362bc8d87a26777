// The Prometheus endpoint of the long-running processes (`memories watch --metrics-port N`): after a run, a scrape
// of /metrics shows Codex's instruments in Prometheus's names, cumulative across runs as counters are.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { startTelemetry } from '../services/telemetry/setup.ts';
import type { Telemetry } from '../services/telemetry/telemetry.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let cleanup: () => Promise<void>;
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
let telemetry: Telemetry;
let scrapes: string[] = [];

const scrape = async () => (await fetch(telemetry.metricsUrl!)).text();

beforeAll(async () => {
  ({ home, cleanup } = await tempCodexHome());
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
  // Port 0: any free port; the endpoint says which it got.
  telemetry = (await startTelemetry({ otel: null, env: {}, prometheus: { host: '127.0.0.1', port: 0 } }))!;
  await installFixtureRollouts(home);
  const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
  const before = await scrape();
  await runPipeline({ codexHome: home, model, telemetry, phase: '1', config: { version: 'v1' } });
  const afterFirst = await scrape();
  await runPipeline({ codexHome: home, model, telemetry, phase: '1', config: { version: 'v1' } });
  scrapes = [before, afterFirst, await scrape()];
});
afterAll(async () => {
  await telemetry?.shutdown();
  await server.close();
  await cleanup();
});

const sample = (text: string, name: string, labels = '') =>
  text.split('\n').find((line) => line.startsWith(`${name}{`) && line.includes(labels) && !line.startsWith('#'));

describe('the /metrics endpoint', () => {
  it('serves on 127.0.0.1 and has no sample before a run has finished', () => {
    expect(telemetry.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(scrapes[0]).not.toContain('codex_memory_phase1_total{');
  });

  it("shows a run's counts and token usage under Prometheus's names for Codex's instruments", () => {
    const text = scrapes[1]!;
    expect(sample(text, 'codex_memory_phase1_total', 'status="claimed"')).toMatch(/ 5$/);
    expect(sample(text, 'codex_memory_phase1_total', 'status="succeeded"')).toMatch(/ 5$/);
    expect(sample(text, 'codex_memory_phase1_output_total')).toMatch(/ 5$/);
    expect(sample(text, 'codex_memory_phase1_token_usage_count', 'token_type="total"')).toMatch(/ 1$/);
    expect(text).toContain('# TYPE codex_memory_phase1_token_usage histogram');
  });

  it('adds the next run to the same counters', () => {
    const text = scrapes[2]!;
    expect(sample(text, 'codex_memory_phase1_total', 'status="claimed"')).toMatch(/ 5$/);
    expect(sample(text, 'codex_memory_phase1_total', 'status="skipped_no_candidates"')).toMatch(/ 1$/);
  });
});
