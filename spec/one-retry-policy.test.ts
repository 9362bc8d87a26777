// One retry policy, the machines': the SDK never retries, so a job that always fails makes exactly
// `maxAttempts` HTTP attempts; a failure is described once, and a lost lease is known by its type.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { describeFailure, LeaseLostError, MalformedReplyError, RetryableError } from '../services/errors.ts';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
});
afterEach(() => cleanup());

it('makes exactly maxAttempts HTTP attempts for a job whose every call gets a 500', async () => {
  const server = await startLocalOpenAIServer({ handler: () => ({ status: 500, headers: { 'retry-after-ms': '0' } }) });
  try {
    await installFixtureRollouts(home, { count: 1 });
    const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
    const retryPolicy = { initialDelayMs: 1, maxDelayMs: 1, maxAttempts: 3 };
    const out = await runPipeline({ codexHome: home, model, phase: '1', retryPolicy });
    expect(out.phase1?.failed).toBe(1);
    expect(out.phase1?.jobs[0]?.attempts).toBe(3);
    expect(server.requests).toHaveLength(3);
  } finally {
    await server.close();
  }
});

it('describes a failure once: retryable or not, the server wait, and a lost lease by its type', () => {
  const limited = describeFailure(new RetryableError('429', { retryAfterMs: 7_000 }));
  expect(limited).toEqual({ message: '429', retryable: true, leaseLost: false, retryAfterMs: 7_000 });
  expect(describeFailure(new MalformedReplyError('not JSON'))).toMatchObject({ retryable: true, retryAfterMs: null });
  expect(describeFailure(new LeaseLostError())).toMatchObject({ retryable: false, leaseLost: true });
  const impostor = Object.assign(new Error('named like one'), { name: 'LeaseLostError' });
  expect(describeFailure(impostor)).toMatchObject({ retryable: false, leaseLost: false });
  expect(describeFailure('a string')).toMatchObject({ message: 'a string', retryable: false });
});
