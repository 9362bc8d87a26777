// §7 of the bench: what telemetry costs. The §3 scenario (200 rollouts, 0 ms model latency, concurrency 8: the
// pipeline's own CPU is all there is, the worst case for an overhead), in fresh processes, alternately with no
// exporter and with OTLP/HTTP (protobuf) export of traces and metrics to a receiver on 127.0.0.1.
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { installFixtureRollouts } from '../fixture-corpus.ts';
import { kb, ms, pct, table, verdict } from './markdown.ts';
import { withServer } from './server-process.ts';
import type { TelemetryChildSpec, TelemetryRunFigures } from './telemetry-child.ts';

const ROLLOUTS = 200;
const CONCURRENCY = 8;
const RUNS = 3;

type Mode = 'none' | 'otlp';

interface SectionInput {
  tmp: string;
  fixtures: string;
  /** §3's rollouts/s of the same scenario in this bench run: today's figure without telemetry. */
  baselineRates: number[];
}

export async function telemetrySection(log: (line: string) => void, input: SectionInput) {
  const sink = await startSink();
  const runs: Record<Mode, TelemetryRunFigures[]> = { none: [], otlp: [] };
  try {
    await withServer(0, async (url) => {
      for (let i = 0; i < RUNS; i++) {
        for (const mode of ['none', 'otlp'] as const) {
          log(
            `telemetry: ${ROLLOUTS} rollouts, 0 ms latency, ${mode === 'none' ? 'no exporter' : 'OTLP export'} (run ${i + 1} of ${RUNS})`,
          );
          const home = join(input.tmp, `telemetry-${mode}-${i}`);
          await installFixtureRollouts(home, { count: ROLLOUTS, sourceDir: input.fixtures });
          const env = mode === 'otlp' ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } : {};
          runs[mode].push(await runTelemetryChild({ home, url, concurrency: CONCURRENCY, maxRollouts: ROLLOUTS }, env));
        }
      }
    });
  } finally {
    await sink.close();
  }

  const row = (mode: Mode) => {
    const figures = runs[mode];
    return {
      rate: median(figures.map((f) => f.claimed / (f.runMs / 1000))),
      cpuPerRollout: median(figures.map((f) => f.runCpuMs / f.claimed)),
      setupMs: median(figures.map((f) => f.setupMs)),
      shutdownMs: median(figures.map((f) => f.shutdownMs)),
      modules: Math.max(...figures.map((f) => f.otelModules)),
      notices: figures.flatMap((f) => f.notices),
    };
  };
  const none = row('none');
  const otlp = row('otlp');
  const cpuOverhead = otlp.cpuPerRollout / none.cpuPerRollout - 1;
  const rateOverhead = 1 - otlp.rate / none.rate;
  const baseline = [...input.baselineRates].sort((a, b) => a - b);
  const baselineMedian = median(baseline);
  const withinNoise = none.rate >= baseline[0]!;

  const section = [
    `## 7. Telemetry overhead (${ROLLOUTS} rollouts, 0 ms latency, concurrency ${CONCURRENCY}, phase 1; median of ${RUNS} fresh processes each, alternating)`,
    '',
    'No exporter: no OTEL_* variable and no [otel] table, the default. OTLP: `OTEL_EXPORTER_OTLP_ENDPOINT` only (http/protobuf), ' +
      'spans of every actor, state and model call plus the five instruments, exported to a receiver on 127.0.0.1. ' +
      'Run = the `runPipeline` call; set-up = deciding and, with an exporter, importing and starting the SDK; final export = `shutdown()`. ' +
      "CPU per rollout is the run's user + system CPU (steadier than wall time on a shared VM). With a real model (hundreds of ms per call) the same CPU is a far smaller share.",
    '',
    table(
      'Configuration | Rollouts/s | Pipeline CPU per rollout | Set-up | Final export | OpenTelemetry modules loaded | Exported',
      [
        [
          'no exporter',
          none.rate.toFixed(1),
          `${none.cpuPerRollout.toFixed(2)} ms`,
          ms(none.setupMs),
          ms(none.shutdownMs),
          none.modules,
          '—',
        ],
        [
          'OTLP/HTTP export on',
          otlp.rate.toFixed(1),
          `${otlp.cpuPerRollout.toFixed(2)} ms`,
          ms(otlp.setupMs),
          ms(otlp.shutdownMs),
          otlp.modules,
          `${sink.requests()} requests, ${kb(sink.bytes())}${otlp.notices.length ? ` (${otlp.notices.length} failed)` : ''}`,
        ],
      ],
    ),
    '',
    `OTLP against no exporter: pipeline CPU per rollout ${signed(cpuOverhead)}, rollouts/s ${signed(-rateOverhead)}. ` +
      `No exporter against §3's runs of the same scenario in this bench (today's code path without telemetry): ` +
      `${none.rate.toFixed(1)} vs ${baselineMedian.toFixed(1)} rollouts/s (§3 range ${baseline[0]!.toFixed(1)}–${baseline.at(-1)!.toFixed(1)}).`,
  ].join('\n');

  const summary = [
    [
      'Telemetry off (no exporter configured): run time',
      'within noise of today’s',
      `${none.rate.toFixed(1)} rollouts/s vs §3's ${baselineMedian.toFixed(1)} (range ${baseline[0]!.toFixed(1)}–${baseline.at(-1)!.toFixed(1)}); ${none.modules} OpenTelemetry modules loaded`,
      verdict(withinNoise && none.modules === 0),
    ],
    [
      'Telemetry on (OTLP/HTTP export of traces and metrics): overhead',
      '≤ 5 %',
      `pipeline CPU per rollout ${signed(cpuOverhead)}, rollouts/s ${signed(-rateOverhead)}; SDK set-up ${ms(otlp.setupMs)} once per process, final export ${ms(otlp.shutdownMs)}`,
      verdict(cpuOverhead <= 0.05),
    ],
  ];
  return { section, summary };
}

async function runTelemetryChild(spec: TelemetryChildSpec, extraEnv: NodeJS.ProcessEnv): Promise<TelemetryRunFigures> {
  // The bench's own environment must not turn an exporter on in the "no exporter" runs.
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('OTEL_')));
  const args = ['--import', 'tsx', join(import.meta.dirname, 'telemetry-child.ts'), JSON.stringify(spec)];
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    env: { ...env, ...extraEnv },
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as TelemetryRunFigures;
}

/** A stand-in collector: answers every OTLP/HTTP request with 200 and counts what arrived. */
async function startSink() {
  let requests = 0;
  let bytes = 0;
  const server = createServer((request, response) => {
    requests++;
    request.on('data', (chunk: Buffer) => (bytes += chunk.length));
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests: () => requests,
    bytes: () => bytes,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

const signed = (fraction: number) => `${fraction >= 0 ? '+' : '−'}${pct(Math.abs(fraction))}`;
