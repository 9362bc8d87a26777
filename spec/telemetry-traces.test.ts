// The trace of one run, read back from the SDK's in-memory exporter: a span per run, phase and machine actor made
// by the actor system, the states as events, model calls after the GenAI conventions, the agent's turns and tool
// calls. One job is refused after a retry; one rollout carries a planted secret that must reach no telemetry.
import { appendFile, utimes } from 'node:fs/promises';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Handler, startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { runPipeline } from '../services/pipeline.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { isAgentRequest } from './support/agent-requests.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { inMemoryTelemetry, type RecordedPoint } from './support/telemetry.ts';

// Private rollout text that is no credential: redaction lets it through to the model, telemetry must not carry it.
const MARKER = 'PLANTED-a91f: the launch codename is hunter2-ocelot';
const SECRET = `sk-${'Zq8'.repeat(10)}`;

let cleanup: () => Promise<void>;
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;
let spans: ReadableSpan[] = [];
let points: RecordedPoint[] = [];

const scripted = scriptedHandler();
let stage1Requests = 0;
// Concurrency 1: the first job gets a 503, then a 400 on its retry; every other request is answered.
const handler: Handler = (req) => {
  if (isAgentRequest(req.body)) return scripted(req);
  const n = stage1Requests++;
  if (n === 0) return { status: 503, body: { error: { message: 'overloaded' } } };
  if (n === 1) return { status: 400, body: { error: { message: 'refused' } } };
  return scripted(req);
};

beforeAll(async () => {
  const temp = await tempCodexHome();
  cleanup = temp.cleanup;
  server = await startLocalOpenAIServer({ handler });
  const paths = await installFixtureRollouts(temp.home);
  // A user message with a secret, appended to the newest interactive rollout (still idle: its mtime is kept).
  const message = { type: 'message', role: 'user', content: [{ type: 'input_text', text: `${MARKER} and ${SECRET}` }] };
  const line = JSON.stringify({ timestamp: new Date().toISOString(), type: 'response_item', payload: message });
  for (const path of paths) {
    const idle = new Date(Date.now() - 7 * 3_600_000);
    await appendFile(path, `${line}\n`);
    await utimes(path, idle, idle);
  }
  const recorded = inMemoryTelemetry({ team: 'platform' });
  const model = createModelClient({ apiKey: 'test', baseURL: server.url, wireApi: 'responses' });
  const retryPolicy = { initialDelayMs: 5, maxDelayMs: 20 };
  await runPipeline({
    codexHome: temp.home,
    model,
    telemetry: recorded.telemetry,
    concurrency: 1,
    config: { version: 'v1' },
    retryPolicy,
  });
  spans = await recorded.spans();
  points = await recorded.points();
});
afterAll(async () => {
  await server.close();
  await cleanup();
});

const named = (name: string) => spans.filter((s) => s.name === name);
const one = (name: string) => {
  const found = named(name);
  expect(found, name).toHaveLength(1);
  return found[0]!;
};
const parentOf = (span: ReadableSpan) => spans.find((s) => s.spanContext().spanId === span.parentSpanContext?.spanId);
const events = (span: ReadableSpan) =>
  span.events.map((e) =>
    e.attributes?.['memories.attempt'] === undefined ? e.name : `${e.name}@${e.attributes['memories.attempt']}`,
  );

describe('the trace of a run', () => {
  it('is one trace: the run holds its two phases, each extraction sits in phase 1 and the consolidation in phase 2', () => {
    const run = one('memories.run');
    expect(run.parentSpanContext).toBeUndefined();
    expect(new Set(spans.map((s) => s.spanContext().traceId))).toEqual(new Set([run.spanContext().traceId]));
    expect(parentOf(one('memories.phase1'))).toBe(run);
    expect(parentOf(one('memories.phase2'))).toBe(run);
    const extractions = named('memories.extraction');
    expect(extractions).toHaveLength(5);
    for (const span of extractions) expect(parentOf(span)?.name).toBe('memories.phase1');
    expect(parentOf(one('memories.consolidation'))?.name).toBe('memories.phase2');
    expect(one('memories.phase1').attributes).toMatchObject({ 'memories.phase1.claimed': 5, 'memories.phase1.failed': 1 });
    expect(run.attributes.team).toBe('platform');
  });

  it("marks an extraction's states as events with the attempt number, and a job that gave up as failed", () => {
    const failed = named('memories.extraction').find((s) => s.attributes['memories.outcome'] === 'gaveUp')!;
    expect(failed.attributes).toMatchObject({ 'memories.attempts': 2, 'error.type': 'gaveUp' });
    expect(failed.attributes['memories.thread_id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(failed.status.code).toBe(SpanStatusCode.ERROR);
    expect(events(failed)).toEqual([
      'leased@0',
      'running@1',
      'running.work.starting@1',
      'running.lease.held@1',
      'running.work.building@1',
      'running.work.awaitingSlot@1',
      'running.work.requesting@1',
      'error',
      'failed@1',
      'backoff@1',
      'leased@1',
      'running@2',
      // The request built for the first attempt is sent again, not built again.
      'running.work.starting@2',
      'running.lease.held@2',
      'running.work.awaitingSlot@2',
      'running.work.requesting@2',
      'error',
      'failed@2',
      'recordingFailure@2',
    ]);
    const errors = failed.events.filter((e) => e.name === 'error').map((e) => e.attributes);
    expect(errors).toEqual([
      { 'memories.step': 'request', 'error.type': 'RetryableError' },
      { 'memories.step': 'request', 'error.type': 'BadInputError' },
    ]);
  });

  it('has a CLIENT span per model call under its actor, after the GenAI conventions', () => {
    const calls = named('chat gpt-5.3-codex-spark');
    expect(calls).toHaveLength(6);
    for (const call of calls) {
      expect(call.kind).toBe(SpanKind.CLIENT);
      expect(parentOf(call)?.name).toBe('memories.extraction');
      expect(call.attributes).toMatchObject({
        'gen_ai.operation.name': 'chat',
        'gen_ai.provider.name': 'openai',
        'gen_ai.request.model': 'gpt-5.3-codex-spark',
      });
    }
    const answered = calls.filter((c) => c.status.code !== SpanStatusCode.ERROR);
    expect(answered).toHaveLength(4);
    for (const call of answered) expect(call.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(calls.filter((c) => c.status.code === SpanStatusCode.ERROR).map((c) => c.attributes['error.type'])).toEqual([
      'RetryableError',
      'BadInputError',
    ]);
  });

  it("nests the consolidation agent's turns and tool calls: invoke_agent, then a span per turn, execute_tool per call", () => {
    const agent = one('invoke_agent memory_consolidation');
    expect(parentOf(agent)?.name).toBe('memories.consolidation');
    const turns = named('memories.agent.turn');
    expect(turns.length).toBe(agent.attributes['memories.agent.turns']);
    for (const turn of turns) expect(parentOf(turn)).toBe(agent);
    const tools = spans.filter((s) => s.name.startsWith('execute_tool '));
    expect(tools.length).toBe(agent.attributes['memories.agent.tool_calls']);
    for (const tool of tools) {
      expect(parentOf(tool)?.name).toBe('memories.agent.turn');
      expect(tool.attributes['gen_ai.tool.name']).toBe(tool.name.slice('execute_tool '.length));
    }
    for (const call of named('chat gpt-5.3-codex')) expect(parentOf(call)?.name).toBe('memories.agent.turn');
    expect(events(one('memories.consolidation'))).toEqual(expect.arrayContaining(['runningAgent@1', 'recordingSuccess@1']));
  });

  it('exports no rollout text: a secret planted in a rollout reaches the model, and no span, event, attribute or metric', () => {
    expect(JSON.stringify(server.requests.map((r) => r.body))).toContain(MARKER);
    const exported = JSON.stringify({
      spans: spans.map((s) => ({
        name: s.name,
        attributes: s.attributes,
        events: s.events,
        status: s.status,
        resource: s.resource.attributes,
        links: s.links,
      })),
      points,
    });
    for (const planted of [MARKER, 'hunter2', SECRET, 'Zq8Zq8']) expect(exported).not.toContain(planted);
  });
});
