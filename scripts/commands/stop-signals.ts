// SIGINT/SIGTERM for `run` and `watch`: the first signal stops gracefully (model calls aborted,
// leases released), a second one exits at once, and so does a stop still unfinished after the grace
// period, so nothing (a blocked open, a store lock held elsewhere) keeps the process alive.
import { constants } from 'node:os';

const STOP_GRACE_MS = 5_000;

const warn = (line: string) => process.stderr.write(`memories: ${line}\n`);

/** The exit status of a process ended by `signal`, as shells report it. */
export const signalExitCode = (signal: NodeJS.Signals) => 128 + (constants.signals[signal] ?? 0);

/** Ends the process now by the signal's default action: process.exit() waits for a thread pool a FIFO open may hold for good. */
export function exitOnSignal(signal: NodeJS.Signals): void {
  process.removeAllListeners('SIGINT').removeAllListeners('SIGTERM');
  process.kill(process.pid, signal);
}

/** Calls `stop` on the first signal; returns the signal received so far, if any. */
export function handleStopSignals(stop: (signal: NodeJS.Signals) => void): () => NodeJS.Signals | null {
  let received: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (received) {
      warn(`${signal} again: exiting without waiting`);
      return exitOnSignal(signal);
    }
    received = signal;
    // Unref'd: a stop that finishes lets the process exit at once, without waiting for this timer.
    setTimeout(() => {
      warn(`still stopping ${STOP_GRACE_MS / 1000} s after ${signal}: exiting without waiting (unreleased leases expire)`);
      exitOnSignal(signal);
    }, STOP_GRACE_MS).unref();
    stop(signal);
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  return () => received;
}
