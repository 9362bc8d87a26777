// What a person watching a run wants to see while it works: a line per finished job (stdout, terminal or
// not, so a cron log or a pipe shows it too), a line when phase 2 starts and when it ends, and on a terminal
// a live counter on stderr, redrawn in place, that never lands in a file or a pipe. A failed job's reason
// goes to stderr whatever the options.
import type { ExtractionOutput } from '../../machines/extraction.ts';
import type { MemoriesPipeline } from '../../services/pipeline.ts';
import { jobFailed, jobFailure, phase2Words } from './run-summary.ts';

export interface ProgressOptions {
  /** The job and phase lines (off for --quiet and --json). */
  lines: boolean;
  /** The stream the live counter is redrawn on; null when it is not a terminal (or with --quiet). */
  counter: NodeJS.WriteStream | null;
  /** Put before each line, e.g. `run 3: ` in watch. */
  prefix?: string;
  /** Where a line goes (default stdout); `watch` holds its first run's lines until its banner is out. */
  write?: (line: string) => void;
}

/** "  [3/16] succeeded          019a…  1234 tokens" */
export function jobLine(job: ExtractionOutput, done: number, claimed: number): string {
  const tokens = job.usage ? `  ${job.usage.total} tokens` : '';
  return `  [${done}/${claimed}] ${job.outcome.padEnd(17)} ${job.threadId}${tokens}`;
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

/**
 * Calls `fn` once, when the run enters phase 2. The actor starts as it is created, so a phase-2-only run is there
 * before anyone subscribes: its current state counts too. Returns the subscription.
 */
export function onceConsolidating(actor: MemoriesPipeline, fn: () => void) {
  let called = false;
  const check = (snapshot: { value: unknown }) => {
    if (snapshot.value !== 'consolidating' || called) return;
    called = true;
    fn();
  };
  check(actor.getSnapshot());
  return actor.subscribe(check);
}

/** Follows one pipeline actor until it finishes; the returned function ends it early (clears the counter). */
export function followProgress(actor: MemoriesPipeline, options: ProgressOptions): () => void {
  const started = performance.now();
  const prefix = options.prefix ?? '';
  const state = { claimed: 0, done: 0, tokens: 0, phase2At: null as number | null };
  const counterText = () => {
    const elapsed = seconds(performance.now() - started);
    if (state.phase2At !== null) return `phase 2: consolidating, ${seconds(performance.now() - state.phase2At)}`;
    return `phase 1: ${state.done} of ${state.claimed} done, ${elapsed}, ${state.tokens} tokens`;
  };
  const term = options.counter;
  const redraw = () => term?.write(`\r\x1b[K${prefix}${counterText()}`);
  const clear = () => term?.write('\r\x1b[K');
  const write = options.write ?? ((text: string) => process.stdout.write(`${text}\n`));
  const say = (line: string) => {
    if (!options.lines) return;
    clear();
    write(`${prefix}${line}`);
    redraw();
  };
  // The elapsed time moves while a slow model answers; unref'd, so it never holds the process open.
  const tick = term ? setInterval(redraw, 1000).unref() : undefined;

  actor.on('phase1.claimed', ({ claims }) => {
    state.claimed = claims.length;
    // Nothing claimed is the usual idle run of `watch`; its summary line says so.
    if (claims.length > 0) say(`phase 1: ${claims.length} rollout(s) claimed`);
  });
  actor.on('job.finished', ({ output }) => {
    state.done += 1;
    state.tokens += output.usage?.total ?? 0;
    say(jobLine(output, state.done, state.claimed));
    // Said even with --quiet or --json; here, so the counter is cleared first and not run into.
    if (jobFailed(output)) {
      clear();
      process.stderr.write(`memories: ${prefix}${jobFailure(output)}\n`);
      redraw();
    }
  });
  const watching = onceConsolidating(actor, () => {
    state.phase2At = performance.now();
    say('phase 2: consolidating');
  });
  actor.on('phase2.finished', ({ output }) => {
    const took = seconds(performance.now() - (state.phase2At ?? started));
    say(`phase 2: ${phase2Words(output.status)}${output.reason ? ` (${output.reason})` : ''} in ${took}`);
  });
  let ended = false;
  const end = () => {
    if (ended) return;
    ended = true;
    if (tick) clearInterval(tick);
    watching.unsubscribe();
    clear();
  };
  // Ends with the run (before whoever awaits it prints the summary), or earlier when the caller ends it.
  actor.subscribe({ complete: end, error: end });
  redraw();
  return end;
}
