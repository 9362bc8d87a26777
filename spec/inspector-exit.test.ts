// `--inspect` must not keep the process alive: a real pipeline run with the inspector on, and a
// page still connected when the run ends, has to exit by itself once close() returns.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';

const ROOT = join(import.meta.dirname, '..');
const mod = (path: string) => JSON.stringify(pathToFileURL(join(ROOT, path)).href);

// Set up like scripts/demo.ts: fixture rollouts, the bundled scripted model on 127.0.0.1.
// No process.exit(): the point is that nothing is left holding the event loop.
const CHILD = `
import { createInspection } from ${mod('services/inspect/inspector.ts')};
import { startLocalOpenAIServer } from ${mod('services/local-model/local-openai-server.ts')};
import { createModelClient } from ${mod('services/model/model-client.ts')};
import { runPipeline } from ${mod('services/pipeline.ts')};
import { scriptedHandler } from ${mod('services/local-model/scripted-model.ts')};
import { installFixtureRollouts } from ${mod('scripts/fixture-corpus.ts')};

const [home, events] = process.argv.slice(2);
await installFixtureRollouts(home);
const server = await startLocalOpenAIServer({ handler: scriptedHandler() });
const inspection = await createInspection({ inspect: true, eventsFile: events, waitForViewerMs: 30_000 });
try {
  const result = await runPipeline({
    codexHome: home,
    model: createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' }),
    inspect: inspection.inspect,
  });
  process.stdout.write(JSON.stringify({ claimed: result.phase1?.claimed, phase2: result.phase2?.status }) + '\\n');
} finally {
  await inspection.close();
  await server.close();
}
process.stdout.write('closed\\n');
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inspector-exit-'));
  await writeFile(join(dir, 'child.mts'), CHILD);
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Resolves with the first match of `re` in the stream's text so far. */
function waitFor(stream: NodeJS.ReadableStream, re: RegExp): Promise<RegExpExecArray> {
  let text = '';
  return new Promise((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = re.exec(text);
      if (match) resolve(match);
    });
  });
}

const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

/** The ids of the actors announced in a list of Stately inspection events (promise actors too). */
const actorIds = (events: Array<{ type: string; definition?: string }>) => [
  ...new Set(events.filter((e) => e.type === '@xstate.actor' && e.definition).map((e) => JSON.parse(e.definition!).id)),
];
const MACHINES = expect.arrayContaining(['coordinator', 'extraction', 'consolidation']);

describe('a pipeline run with --inspect', () => {
  it('relays every machine to a connected page and still exits by itself', async () => {
    const home = join(dir, 'codex');
    const events = join(dir, 'events.jsonl');
    const child = spawn(process.execPath, ['--import', 'tsx', join(dir, 'child.mts'), home, events], {
      cwd: ROOT, // so that `--import tsx` resolves from this checkout
      env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exit = exited(child);
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      const [, url] = await waitFor(child.stderr!, /inspector: open (http:\/\/127\.0\.0\.1:\d+\/)/);
      // The page stays open: the test never closes this socket.
      const page = new WebSocket(url.replace('http:', 'ws:'), { origin: url.replace(/\/$/, '') });
      const received: Array<{ type: string; definition?: string }> = [];
      page.on('message', (data) => received.push(JSON.parse(data.toString())));

      const done = waitFor(child.stdout!, /^closed$/m);
      const summary = await waitFor(child.stdout!, /^(\{.*\})$/m);
      expect(JSON.parse(summary[1])).toEqual({ claimed: 5, phase2: 'succeeded' });
      const closing = await Promise.race([done, new Promise((r) => setTimeout(() => r(null), 30_000))]);
      expect(closing, `close() did not return within 30 s; stderr:\n${stderr}`).not.toBeNull();
      const code = await Promise.race([exit, new Promise((r) => setTimeout(() => r('still running'), 5_000))]);
      expect(code, `the child did not exit within 5 s of close(); stderr:\n${stderr}`).toBe(0);

      expect(actorIds(received)).toEqual(MACHINES);
      const logged = (await readFile(events, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(actorIds(logged)).toEqual(MACHINES);
      expect((await stat(events)).mode & 0o777).toBe(0o600);
    } finally {
      child.kill('SIGKILL'); // no-op once it exited; ends a hung child on failure
    }
  }, 90_000);
});
