// The set-up the memory-folder specs share: a fresh Codex home per test, the scripted local model behind a handler
// a test may swap, and a pipeline run against both; and the folder's history as text, to search it for secrets.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';
import { type Handler, type LocalOpenAIServer, startLocalOpenAIServer } from '../../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import { createModelClient } from '../../services/model/model-client.ts';
import { type PipelineOptions, runPipeline } from '../../services/pipeline.ts';
import { tempCodexHome } from './codex-home.ts';

export interface MemoryHome {
  home: string;
  /** The v1 memory folder. */
  root: string;
  server: LocalOpenAIServer;
  /** What the server answers with; scripted by default, set afresh before each test. */
  handler: Handler;
  run(extra?: Partial<PipelineOptions>): ReturnType<typeof runPipeline>;
}

/** Registers the per-test set-up; the returned object's fields are always the running test's. */
export function memoryHomePerTest(): MemoryHome {
  return memoryHome(beforeEach, afterEach);
}

/** One home and server for all the tests of a file, which then build on each other's runs. */
export function memoryHomePerFile(): MemoryHome {
  return memoryHome(beforeAll, afterAll);
}

function memoryHome(before: typeof beforeEach, after: typeof afterEach): MemoryHome {
  let cleanup: () => Promise<void> = async () => {};
  const t = {
    run: (extra: Partial<PipelineOptions> = {}) =>
      runPipeline({
        codexHome: t.home,
        model: createModelClient({ apiKey: 'test', baseURL: t.server.url, wireApi: 'responses' }),
        retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 },
        ...extra,
      }),
  } as MemoryHome;
  before(async () => {
    ({ home: t.home, cleanup } = await tempCodexHome());
    t.root = join(t.home, 'memories');
    t.handler = scriptedHandler();
    t.server = await startLocalOpenAIServer({ handler: (req) => t.handler(req) });
  });
  after(async () => {
    await t.server.close();
    await cleanup();
  });
  return t;
}

/** Every loose object of the folder's history, inflated: a secret in the history would not show in a plain read. */
export async function historyText(root: string): Promise<string> {
  const objects = join(root, '.git', 'objects');
  let text = '';
  for (const entry of await readdir(objects, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && /^[0-9a-f]{38}$/.test(entry.name)) {
      text += inflateSync(await readFile(join(entry.parentPath, entry.name))).toString('latin1');
    }
  }
  return text;
}
