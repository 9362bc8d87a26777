// The worker thread's side of request-builder.ts: builds phase-1 requests on request.
import { parentPort } from 'node:worker_threads';
import { buildStageOneRequest } from './stage-one-prompt.ts';
import type { ThreadInfo } from '../types.ts';

export interface BuildMessage {
  id: number;
  thread: ThreadInfo;
  model: string;
}

parentPort!.postMessage({ ready: true });
parentPort!.on('message', (message: BuildMessage) => {
  buildStageOneRequest({ thread: message.thread, model: message.model }).then(
    (request) => parentPort!.postMessage({ id: message.id, ok: true, request }),
    (error: unknown) => {
      const e = error as NodeJS.ErrnoException;
      parentPort!.postMessage({
        id: message.id,
        ok: false,
        error: { name: e?.name ?? 'Error', message: e?.message ?? String(error), code: e?.code },
      });
    },
  );
});
