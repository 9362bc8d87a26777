// A model server that cannot be reached is named by its URL, so the person knows which setting to fix; the URL
// is shown without what may hold a secret (a query string, user info).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { BadInputError, RetryableError } from '../services/errors.ts';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

const request = { model: 'gpt-test', instructions: 'SYSTEM PROMPT', input: 'ROLLOUT BODY' };

describe('an unreachable model server', () => {
  it('is named by its URL, with the refused connection in words', async () => {
    const closed = await startLocalOpenAIServer({ handler: () => ({ status: 500 }) });
    await closed.close();
    const client = createModelClient({ apiKey: 'sk-test', baseURL: closed.url, wireApi: 'chat' });
    const error = await client.extractStage1(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryableError);
    expect((error as Error).message).toBe(`could not reach the model server at ${closed.url}: connection refused (ECONNREFUSED)`);
  });

  it('is named without the user info and query params that may hold a key', async () => {
    const client = createModelClient({
      apiKey: 'sk-apikey',
      baseURL: 'http://someone:sk-password@127.0.0.1:9/v1?key=sk-inurl',
      defaultQuery: { 'api-key': 'sk-inquery' },
      wireApi: 'responses',
    });
    const error = await client.extractStage1(request).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/^could not reach the model server at http:\/\/127\.0\.0\.1:9\/v1: /);
    expect((error as Error).message).not.toMatch(/sk-|someone/);
  });

  it('is named without the query string of a --base-url, and a port fetch never dials is not retried', async () => {
    const client = createModelClient({
      apiKey: 'sk-apikey',
      baseURL: 'http://127.0.0.1:9/v1?key=sk-inurl',
      defaultQuery: { 'api-key': 'sk-inquery' },
      wireApi: 'responses',
    });
    const error = await client.extractStage1(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BadInputError);
    expect((error as Error).message).toBe('could not reach the model server at http://127.0.0.1:9/v1: bad port');
  });
});

describe('memories run against a dead --base-url', () => {
  let home: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ home, cleanup } = await tempCodexHome());
    await installFixtureRollouts(home, { count: 1 });
  });
  afterEach(() => cleanup());

  it('says which URL it could not reach', async () => {
    const { code, stderr } = await memories(['run', '--codex-home', home, '--phase', '1', '--base-url', 'http://127.0.0.1:9/v1']);
    expect(code).toBe(1);
    expect(stderr).toMatch(/failed \(gaveUp\): could not reach the model server at http:\/\/127\.0\.0\.1:9\/v1: bad port$/m);
  }, 60_000);
});
