// What the fleet specs share: a PostgreSQL database of the file's own, the bundled scripted model server, and
// Codex homes (removed after the file) whose Codex reads the v2 folder, as Codex 0.169 does by default.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { installFixtureRollouts } from '../../scripts/fixture-corpus.ts';
import { type LocalOpenAIServer, startLocalOpenAIServer } from '../../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import { tempCodexHome } from './codex-home.ts';
import { createTestDatabase, type TestDatabase } from './postgres.ts';

export interface FleetTestBed {
  readonly database: TestDatabase;
  readonly model: LocalOpenAIServer;
  /** A new Codex home; with `rollouts`, holding the fixture rollouts (five eligible). */
  home(options?: { rollouts?: boolean }): Promise<string>;
  /** Runs after the file's tests, with the bed's own clean-up. */
  cleanup(fn: () => Promise<void>): void;
}

export function fleetTestBed(): FleetTestBed {
  let database: TestDatabase;
  let model: LocalOpenAIServer;
  const cleanups: Array<() => Promise<void>> = [];
  beforeAll(async () => {
    database = await createTestDatabase();
    model = await startLocalOpenAIServer({ handler: scriptedHandler() });
  }, 120_000);
  afterAll(async () => {
    await model?.close();
    await database?.drop();
    for (const cleanup of cleanups) await cleanup();
  });
  return {
    get database() {
      return database;
    },
    get model() {
      return model;
    },
    cleanup(fn) {
      cleanups.push(fn);
    },
    async home({ rollouts = false } = {}) {
      const made = await tempCodexHome();
      cleanups.push(made.cleanup);
      await writeFile(join(made.home, 'config.toml'), '[memories]\nversion = "v2"\n');
      if (rollouts) await installFixtureRollouts(made.home);
      return made.home;
    },
  };
}
