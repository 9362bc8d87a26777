// A Responses server that refuses Codex's reasoning settings (a non-reasoning model, a strict OpenAI-compatible
// server) answers 400 naming the parameter: the client sends the request once more without it, and that client
// never sends it again. Any other 400 stays a bad-input error, sent once.
import { afterEach, expect, it } from 'vitest';
import { BadInputError } from '../services/errors.ts';
import { startLocalOpenAIServer, type Handler, type LocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createModelClient } from '../services/model/model-client.ts';

let server: LocalOpenAIServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function setup(handler: Handler) {
  server = await startLocalOpenAIServer({ handler });
  return { server, client: createModelClient({ apiKey: 'sk-test', baseURL: server.url, wireApi: 'responses' }) };
}

const STAGE1_REPLY = JSON.stringify({ rollout_summary: 'Fixed a test', rollout_slug: 'test', raw_memory: '- fact' });
const stage1 = { model: 'gpt-test', instructions: 'SYSTEM PROMPT', input: 'Analyze this rollout' };

/** OpenAI's answer to a parameter the model does not support. */
const unsupported = (param: string) => ({
  status: 400,
  body: {
    error: {
      message: `Unsupported parameter: '${param}' is not supported with this model.`,
      type: 'invalid_request_error',
      param,
      code: 'unsupported_parameter',
    },
  },
});

it('drops reasoning (and its include) after a 400 naming reasoning.effort, and keeps it dropped for the client', async () => {
  const { server, client } = await setup(({ body }) =>
    body.reasoning ? unsupported('reasoning.effort') : { text: STAGE1_REPLY },
  );

  await client.extractStage1(stage1);
  await client.extractStage1(stage1);

  const sent = server.requests.map(({ body }) => ({
    reasoning: body.reasoning,
    include: body.include,
    verbosity: body.text.verbosity,
  }));
  expect(sent).toEqual([
    { reasoning: { effort: 'low' }, include: ['reasoning.encrypted_content'], verbosity: 'low' },
    { reasoning: undefined, include: undefined, verbosity: 'low' },
    { reasoning: undefined, include: undefined, verbosity: 'low' },
  ]);
});

it('drops text.verbosity after a 400 naming it, and keeps the reasoning effort', async () => {
  const { server, client } = await setup(({ body }) =>
    body.text.verbosity ? unsupported('text.verbosity') : { text: STAGE1_REPLY },
  );

  await client.extractStage1(stage1);
  await client.extractStage1(stage1);

  expect(server.requests.map(({ body }) => [body.reasoning?.effort, body.text.verbosity])).toEqual([
    ['low', 'low'],
    ['low', undefined],
    ['low', undefined],
  ]);
  expect(server.requests[2]!.body.text.format).toMatchObject({ name: 'codex_output_schema' });
});

it('sends the request once more at most, even when the server goes on refusing', async () => {
  const { server, client } = await setup(() => unsupported('reasoning.effort'));

  await expect(client.extractStage1(stage1)).rejects.toBeInstanceOf(BadInputError);
  expect(server.requests).toHaveLength(2);
});

it('leaves any other 400 a bad-input error, sent once', async () => {
  const { server, client } = await setup(() => unsupported('temperature'));

  await expect(client.extractStage1(stage1)).rejects.toBeInstanceOf(BadInputError);
  expect(server.requests).toHaveLength(1);
  expect(server.requests[0]!.body.reasoning).toEqual({ effort: 'low' });
});
