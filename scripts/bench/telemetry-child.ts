// One phase-1 run in a fresh process for the telemetry rows, configured the way the CLI is: OTEL_* in this process's
// environment decides (nothing set: no exporter). Times telemetry's set-up, the run and the final export apart, and
// counts the OpenTelemetry modules this process loaded. Prints one JSON line.
import { createRequire } from 'node:module';
import { createModelClient } from '../../services/model/model-client.ts';
import { runPipeline } from '../../services/pipeline.ts';
import { startTelemetry } from '../../services/telemetry/setup.ts';

export interface TelemetryChildSpec {
  home: string;
  url: string;
  concurrency: number;
  maxRollouts: number;
}

export interface TelemetryRunFigures {
  setupMs: number;
  runMs: number;
  runCpuMs: number;
  shutdownMs: number;
  claimed: number;
  otelModules: number;
  notices: string[];
}

const spec = JSON.parse(process.argv[2]!) as TelemetryChildSpec;
const cpuMs = (from: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(from);
  return (used.user + used.system) / 1000;
};

const notices: string[] = [];
const t0 = performance.now();
const telemetry = await startTelemetry({ otel: null, notice: (line) => notices.push(line) });
const t1 = performance.now();
const cpu = process.cpuUsage();
const model = createModelClient({ apiKey: 'bench', baseURL: spec.url, wireApi: 'responses' });
const output = await runPipeline({
  codexHome: spec.home,
  model,
  telemetry,
  phase: '1',
  concurrency: spec.concurrency,
  config: { maxRolloutsPerStartup: spec.maxRollouts },
});
const runCpuMs = cpuMs(cpu);
const t2 = performance.now();
await telemetry?.shutdown();
const figures: TelemetryRunFigures = {
  setupMs: t1 - t0,
  runMs: t2 - t1,
  runCpuMs,
  shutdownMs: performance.now() - t2,
  claimed: output.phase1?.claimed ?? 0,
  otelModules: Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('@opentelemetry')).length,
  notices,
};
process.stdout.write(`${JSON.stringify(figures)}\n`);
