// The Chat Completions wire: the completion object, and the chunk stream ending in `[DONE]` (usage last, if asked).
import { pieces, rid, type Answer } from './wire-common.ts';

export function chatObject(body: any, answer: Answer) {
  const hasCalls = answer.toolCalls.length > 0;
  const toolCalls = answer.toolCalls.map(({ id, ...fn }) => ({ id, type: 'function', function: fn }));
  const content = hasCalls && answer.text === '' ? null : answer.text;
  const message = { role: 'assistant', content, refusal: null, ...(hasCalls ? { tool_calls: toolCalls } : {}) };
  return {
    id: `chatcmpl-${rid()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [{ index: 0, message, finish_reason: hasCalls ? 'tool_calls' : 'stop', logprobs: null }],
    ...(answer.usage ? { usage: chatUsage(answer.usage) } : {}),
  };
}

export function chatChunks(body: any, answer: Answer): string {
  const created = Math.floor(Date.now() / 1000);
  const head = { id: `chatcmpl-${rid()}`, object: 'chat.completion.chunk', created, model: body.model };
  const includeUsage = body.stream_options?.include_usage === true;
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    ...head,
    choices: [{ index: 0, delta, finish_reason: finishReason, logprobs: null }],
    ...(includeUsage ? { usage: null } : {}),
  });

  const chunks: unknown[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of pieces(answer.text)) chunks.push(chunk({ content: piece }));
  answer.toolCalls.forEach((call, index) => {
    chunks.push(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }));
    for (const piece of pieces(call.arguments)) chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
  });
  chunks.push(chunk({}, answer.toolCalls.length > 0 ? 'tool_calls' : 'stop'));
  if (includeUsage && answer.usage) chunks.push({ ...head, choices: [], usage: chatUsage(answer.usage) });
  return `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`;
}

function chatUsage(usage: NonNullable<Answer['usage']>) {
  return {
    prompt_tokens: usage.input,
    completion_tokens: usage.output,
    total_tokens: usage.input + usage.output,
    prompt_tokens_details: { cached_tokens: usage.cachedInput },
    completion_tokens_details: { reasoning_tokens: usage.reasoningOutput },
  };
}
