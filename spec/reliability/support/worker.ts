// A pipeline worker in its own process, wired exactly like `memories run` (file logger, the bundled
// OpenAI client, the lowdb store), except that its wall clock can be shifted forward: a later
// worker then sees the leases of an earlier, SIGKILLed one as expired, as it would an hour later.
// argv[2]: JSON of WorkerArgs (spec/reliability/support/harness.ts). Prints one JSON summary line.
import { fileLogger } from '../../../services/logger.ts';
import { createModelClient } from '../../../services/model/model-client.ts';
import { runPipeline } from '../../../services/pipeline.ts';

const args = JSON.parse(process.argv[2]!) as {
  home: string;
  baseUrl: string;
  offsetMs: number;
  maxRollouts: number;
  concurrency: number;
  phase?: '1' | '2' | 'all';
};

const started = Date.now();
const now = () => Date.now() + args.offsetMs;
const model = createModelClient({ apiKey: 'not-needed', baseURL: args.baseUrl, wireApi: 'responses', timeoutMs: 30_000 });
const result = await runPipeline({
  codexHome: args.home,
  model,
  now,
  phase: args.phase ?? 'all',
  concurrency: args.concurrency,
  config: { maxRolloutsPerStartup: args.maxRollouts },
  retryPolicy: { initialDelayMs: 10, maxDelayMs: 50 },
  log: fileLogger(args.home),
  // WORKER_TRACE=1: every state change on stderr with its time, to see where a slow run waits.
  inspect: process.env.WORKER_TRACE
    ? (e) => {
        if (e.type === '@xstate.snapshot')
          process.stderr.write(
            `${Date.now() - started} ${e.actorRef.sessionId} ${JSON.stringify((e.snapshot as { value?: unknown }).value)}\n`,
          );
      }
    : undefined,
});
process.stdout.write(
  `${JSON.stringify({
    claimed: result.phase1?.claimed ?? 0,
    failed: result.phase1?.failed ?? 0,
    phase1Error: result.phase1?.error ?? null,
    phase2: result.phase2?.status ?? null,
  })}\n`,
);
