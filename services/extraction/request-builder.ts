// Phase-1 requests built on a worker thread.
//
// Building a request (read and parse the rollout, redact, serialise, count tokens) is CPU work of
// a few milliseconds per rollout. On the main thread it runs between every store commit and HTTP
// turn of the other jobs, which then wait behind it, and the second core is left to the model
// server alone. One worker per process, started on first use and shared by every pipeline in it
// (the daemon's runs included); it keeps the process alive only while it has work, and exits
// after a minute without any. Loading it (tsx and our modules) takes a few hundred ms, so until
// it says it is ready, requests are built on the calling thread as without it.
import { Worker } from 'node:worker_threads';
import { BadInputError } from '../errors.ts';
import { buildStageOneRequest, type StageOneRequest } from './stage-one-prompt.ts';
import type { ThreadInfo } from '../types.ts';

export type BuildRequest = (params: { thread: ThreadInfo; model: string }) => Promise<StageOneRequest>;

/** On the calling thread: for one-off builds, and where threads are unwanted. */
export const buildInProcess: BuildRequest = buildStageOneRequest;

const IDLE_EXIT_MS = 60_000;

type Reply =
  | { ready: true }
  | { id: number; ok: true; request: StageOneRequest }
  | { id: number; ok: false; error: { name: string; message: string; code?: string } };

interface Pending {
  resolve(request: StageOneRequest): void;
  reject(error: Error): void;
}

let worker: Worker | null = null;
let ready = false;
/** The thread failed before it was ready: requests are built here from then on. */
let broken = false;
let readyWaiters: Array<{ resolve(): void; reject(error: Error): void }> = [];
const pending = new Map<number, Pending>();
let nextId = 0;
let idleTimer: NodeJS.Timeout | null = null;

function errorFrom(e: { name: string; message: string; code?: string }): Error {
  // The retry policy reads the class (retryable or not), so known classes are rebuilt.
  if (e.name === 'BadInputError') return new BadInputError(e.message);
  return Object.assign(new Error(e.message), { name: e.name, code: e.code });
}

function failAll(error: Error): void {
  for (const p of pending.values()) p.reject(error);
  pending.clear();
}

function start(): Worker {
  const w = new Worker(new URL('./request-builder-worker.mjs', import.meta.url), { execArgv: [] });
  ready = false;
  w.on('message', (reply: Reply) => {
    if ('ready' in reply) {
      if (worker !== w) return;
      ready = true;
      for (const waiter of readyWaiters) waiter.resolve();
      readyWaiters = [];
      // Kept referenced while loading: a thread still loading when the process ends stalls its exit.
      if (pending.size === 0) idle(w);
      return;
    }
    const p = pending.get(reply.id);
    if (!p) return;
    pending.delete(reply.id);
    if (reply.ok) p.resolve(reply.request);
    else p.reject(errorFrom(reply.error));
    if (pending.size === 0) idle(w);
  });
  w.on('error', (error) => {
    gone(w, new Error(`request builder thread failed: ${error.message}`, { cause: error }));
  });
  w.on('exit', (code) => {
    gone(w, new Error(`request builder thread exited (code ${code})`));
  });
  return w;
}

function gone(w: Worker, error: Error): void {
  if (worker !== w) return;
  if (!ready) broken = true;
  worker = null;
  ready = false;
  failAll(error);
  for (const waiter of readyWaiters) waiter.reject(error);
  readyWaiters = [];
}

/** Nothing left to do: let the process exit, and end the thread if it stays idle. */
function idle(w: Worker): void {
  w.unref();
  idleTimer = setTimeout(() => {
    if (worker === w && pending.size === 0) {
      worker = null;
      void w.terminate();
    }
  }, IDLE_EXIT_MS);
  idleTimer.unref();
}

/** Builds on the shared worker thread once it is ready, until then here (same result as buildInProcess). */
export const buildOnWorker: BuildRequest = ({ thread, model }) => {
  if (idleTimer) clearTimeout(idleTimer);
  idleTimer = null;
  if (broken) return buildStageOneRequest({ thread, model });
  worker ??= start();
  if (!ready) return buildStageOneRequest({ thread, model });
  worker.ref();
  const id = nextId++;
  return new Promise<StageOneRequest>((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker!.postMessage({ id, thread, model });
  });
};

/** Starts the thread if needed; resolves once it builds requests itself (tests, and warm-up). */
export function buildThreadReady(): Promise<void> {
  if (broken) return Promise.reject(new Error('request builder thread could not start'));
  worker ??= start();
  if (ready) return Promise.resolve();
  return new Promise<void>((resolve, reject) => readyWaiters.push({ resolve, reject }));
}
