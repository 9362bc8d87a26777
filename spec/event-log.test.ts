// `--events FILE`: every actor event as one JSON line, readable offline, never holding a secret,
// and readable by the owner only.
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { assign, createActor, fromPromise, setup, toPromise } from 'xstate';
import { loggable, openEventLog } from '../services/inspect/event-log.ts';
import { createInspection } from '../services/inspect/inspector.ts';
import { REDACTED } from '../services/redaction/redact.ts';

// Assembled at run time so that no credential-shaped literal sits in the repository.
const API_KEY = ['sk', 'proj', 'A1b2C3d4E5f6G7h8I9j0K1l2'].join('-');
const BEARER = `Bearer ${'tok'.repeat(8)}`;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'event-log-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

/** A job that fails with a model reply quoting a key, the way a stage-1 parse error can. */
const leakyJob = setup({
  types: { context: {} as { error: string | null } },
  actors: {
    callModel: fromPromise<string>(async () => {
      throw Object.assign(new Error(`model reply was not JSON: "use ${API_KEY}"`), { retryable: false });
    }),
  },
}).createMachine({
  id: 'leakyJob',
  context: { error: null },
  initial: 'calling',
  states: {
    calling: {
      invoke: {
        src: 'callModel',
        onError: { target: 'failed', actions: assign({ error: ({ event }) => (event.error as Error).message }) },
      },
    },
    failed: { type: 'final' },
  },
});

async function readLines(path: string): Promise<Array<Record<string, unknown>>> {
  return (await readFile(path, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
}

describe('createInspection({ eventsFile })', () => {
  it('writes actor, event and snapshot lines with secrets redacted, for the owner only', async () => {
    const file = join(dir, 'events.jsonl');
    const inspection = await createInspection({ eventsFile: file });
    const actor = createActor(leakyJob, { inspect: inspection.inspect });
    actor.start();
    await toPromise(actor);
    await inspection.close();

    const text = await readFile(file, 'utf8');
    expect(text).not.toContain(API_KEY);
    const lines = await readLines(file);
    const types = new Set(lines.map((l) => l.type));
    expect([...types].sort()).toEqual(['@xstate.actor', '@xstate.event', '@xstate.snapshot']);
    // The failure is still explained: the error event keeps its message, minus the key.
    const errorEvent = lines.find(
      (l) => l.type === '@xstate.event' && String((l.event as { type: string }).type).startsWith('xstate.error.actor'),
    );
    expect(errorEvent?.event).toMatchObject({
      error: { name: 'Error', message: `model reply was not JSON: "use ${REDACTED}"`, retryable: false },
    });
    const root = lines.find((l) => l.type === '@xstate.actor' && l.name === 'leakyJob')?.sessionId;
    const last = lines.filter((l) => l.type === '@xstate.snapshot' && l.sessionId === root).at(-1) as {
      snapshot: { value: string; context: unknown };
    };
    expect(last.snapshot.value).toBe('failed');
    expect(last.snapshot.context).toEqual({ error: `model reply was not JSON: "use ${REDACTED}"` });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('gives nothing to inspect when neither --inspect nor --events was asked for', async () => {
    const inspection = await createInspection({});
    expect(inspection.inspect).toBeUndefined();
    await inspection.close();
  });
});

describe('openEventLog', () => {
  it('tightens an existing world-readable file to 0600 and replaces its content', async () => {
    const file = join(dir, 'old.jsonl');
    await writeFile(file, 'stale\n', { mode: 0o644 });
    const log = openEventLog(file);
    log.write({ type: 'x', note: BEARER });
    log.close();
    log.write({ type: 'after close' }); // dropped, not thrown
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(await readFile(file, 'utf8')).toBe(`${JSON.stringify({ type: 'x', note: `Bearer ${REDACTED}` })}\n`);
  });
});

describe('loggable', () => {
  it('survives what inspection events really hold: cycles, actor refs, Errors, functions', () => {
    const cyclic: Record<string, unknown> = { name: 'a' };
    cyclic.self = cyclic;
    const shared = { path: '/tmp/x' };
    const ref = createActor(leakyJob);
    const out = loggable({ cyclic, a: shared, b: shared, ref, fn: function renew() {}, n: 1n, u: undefined, list: [undefined] });
    expect(out).toEqual({
      cyclic: { name: 'a', self: '[Circular]' },
      a: { path: '/tmp/x' },
      b: { path: '/tmp/x' },
      ref: { actorRef: ref.id },
      fn: '[function renew]',
      n: '1',
      list: [null],
    });
  });

  it('redacts keys as well as values', () => {
    expect(loggable({ [API_KEY]: 1 })).toEqual({ [REDACTED]: 1 });
  });
});
