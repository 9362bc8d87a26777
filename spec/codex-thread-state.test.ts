// Phase 1 end to end over a Codex home with a real state_5.sqlite (built from the schema Codex 0.169 created): a
// thread the user opted out of memories, an archived one and a polluted one are never sent to the model, while one
// that only generate_memories = false marked is. The database is read, never written, whether Codex has it open or not.
import { copyFile, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { THREAD_DB_FILE } from '../services/codex-state/thread-db.ts';
import { type LocalOpenAIServer, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import type { Logger } from '../services/logger.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { readRolloutMeta } from '../services/rollouts/rollout-reader.ts';
import { tempCodexHome } from './support/codex-home.ts';
import {
  appendMemoryModeChoice,
  createThreadDb,
  markCreatedWithMemoriesOff,
  sqliteFiles,
  type ThreadRowSpec,
} from './support/codex-thread-db.ts';

// The interactive fixture threads (the three exec ones are never extracted anyway).
const OPTED_OUT = '019a93b9-f380-7600-98ff-940e6b99603c'; // cli-chatbot-ui: the user turned memories off
const ARCHIVED = '019c8a70-dda7-7f33-98ea-f30553347322'; // vscode-localpush-short
const POLLUTED = '01a20de4-84d9-7002-a6b8-430537eb75c6'; // single-turn-with-tool-call: web search, context rule on
const CREATED_OFF = '01a20de4-884e-78b3-9214-06e8a8c089a0'; // two-turns-with-tool-calls: generate_memories = false
const ENABLED = '01a20de4-8f6e-7540-8b1e-bc0cd3501fc8'; // function-call-tools-gpt-5.5
const MODES: Record<string, Partial<ThreadRowSpec>> = {
  [OPTED_OUT]: { memoryMode: 'disabled' },
  [ARCHIVED]: { archived: true },
  [POLLUTED]: { memoryMode: 'polluted' },
  [CREATED_OFF]: { memoryMode: 'disabled' },
};
const config = { version: 'v1' as const, generateMemories: false, disableOnExternalContext: true };

let home: string;
let cleanup: () => Promise<void>;
let server: LocalOpenAIServer;
const scratch: string[] = [];

beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
});
afterEach(async () => {
  await server.close();
  await cleanup();
  await Promise.all(scratch.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

const idOf = (path: string) => /([0-9a-f-]{36})\.jsonl$/.exec(basename(path))![1];

/** The fixture rollouts, edited as Codex writes these memory modes, and the rows Codex keeps for them. */
async function codexHomeWithThreadState(): Promise<{ paths: Map<string, string>; rows: ThreadRowSpec[] }> {
  const paths = new Map((await installFixtureRollouts(home)).map((p) => [idOf(p), p]));
  await appendMemoryModeChoice(paths.get(OPTED_OUT)!, 'disabled');
  await markCreatedWithMemoriesOff(paths.get(CREATED_OFF)!);
  const rows: ThreadRowSpec[] = [];
  for (const [id, path] of paths) {
    const meta = (await readRolloutMeta(path))!;
    const updatedAt = Math.floor((await stat(path)).mtimeMs / 1000);
    rows.push({ id, rolloutPath: path, source: meta.source, cwd: meta.cwd, updatedAt, ...MODES[id] });
  }
  return { paths, rows };
}

function runPhase1(log?: Logger) {
  const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
  return runPipeline({ codexHome: home, model, phase: '1', config, retryPolicy: { initialDelayMs: 5, maxDelayMs: 20 }, log });
}

/** The threads whose rollout went to the model, by any mention of their id or path in any request. */
function threadsSent(paths: Map<string, string>): string[] {
  const bodies = server.requests.map((r) => JSON.stringify(r.body));
  return [...paths].filter(([id, path]) => bodies.some((b) => b.includes(id) || b.includes(path))).map(([id]) => id);
}

describe('phase 1 with state_5.sqlite', () => {
  it('never sends an opted-out, archived or polluted thread to the model, and sends one generate_memories = false marked', async () => {
    const { paths, rows } = await codexHomeWithThreadState();
    (await createThreadDb(join(home, THREAD_DB_FILE), rows)).close();
    const before = await sqliteFiles(home);

    const result = await runPhase1();

    expect(result.phase1?.claimed).toBe(2);
    expect(server.requests).toHaveLength(2);
    expect(threadsSent(paths).sort()).toEqual([CREATED_OFF, ENABLED].sort());
    // The database is byte-identical, and no -wal or -shm appeared beside it.
    expect(await sqliteFiles(home)).toEqual(before);
  });

  it('reads opt-outs committed only to the WAL of a database Codex holds open, changing neither file', async () => {
    const { paths, rows } = await codexHomeWithThreadState();
    const codex = await createThreadDb(join(home, THREAD_DB_FILE), rows, { walOnly: true });
    try {
      // As in a real running Codex, the main file alone has not even the table yet: a reader of its bytes sees nothing.
      const mainOnly = await mkdtemp(join(tmpdir(), 'main-only-'));
      scratch.push(mainOnly);
      await copyFile(join(home, THREAD_DB_FILE), join(mainOnly, THREAD_DB_FILE));
      const alone = new Database(join(mainOnly, THREAD_DB_FILE));
      expect(alone.prepare("SELECT name FROM sqlite_master WHERE name = 'threads'").all()).toEqual([]);
      alone.close();
      const before = await sqliteFiles(home);

      await runPhase1();

      expect(threadsSent(paths).sort()).toEqual([CREATED_OFF, ENABLED].sort());
      const after = await sqliteFiles(home);
      expect(Object.keys(after)).toEqual(Object.keys(before));
      expect(after[THREAD_DB_FILE]).toBe(before[THREAD_DB_FILE]);
      expect(after[`${THREAD_DB_FILE}-wal`]).toBe(before[`${THREAD_DB_FILE}-wal`]);
    } finally {
      codex.close();
    }
  });

  it('without state_5.sqlite, extracts every idle interactive rollout as before', async () => {
    const { paths } = await codexHomeWithThreadState();
    const result = await runPhase1();
    expect(result.phase1?.claimed).toBe(5);
    expect(threadsSent(paths).sort()).toEqual([OPTED_OUT, ARCHIVED, POLLUTED, CREATED_OFF, ENABLED].sort());
    expect(await sqliteFiles(home)).toEqual({});
  });

  it('sends nothing, and warns, when state_5.sqlite is there but cannot be read', async () => {
    await codexHomeWithThreadState();
    await writeFile(join(home, THREAD_DB_FILE), 'not a database, just some bytes '.repeat(200));
    const warnings: unknown[] = [];
    const noop = () => {};
    const log = { debug: noop, info: noop, error: noop, warn: (obj: unknown) => void warnings.push(obj) } as unknown as Logger;

    const result = await runPhase1(log);

    expect(result.phase1?.claimed).toBe(0);
    expect(server.requests).toHaveLength(0);
    expect(warnings).toContainEqual({
      path: join(home, THREAD_DB_FILE),
      reason: "Codex's thread database could not be read (file is not a database); no thread is extracted until it can be",
    });
  });
});
