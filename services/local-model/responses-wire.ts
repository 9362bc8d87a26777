// The Responses wire: the response object and the SSE events the SDK's stream helper rebuilds it from; the helper
// needs every `output_item.added` and `content_part.added` before the deltas filling them, so none may be skipped.
import type { ReasoningSpec, ToolCallSpec } from './local-openai-server.ts';
import { pieces, rid, type Answer } from './wire-common.ts';

type ItemStatus = 'in_progress' | 'completed';
type Ids = { response: string; message: string; reasoning: string };

export function responsesObject(body: any, answer: Answer, ids = newIds(), status: ItemStatus = 'completed') {
  const done = status === 'completed';
  return {
    id: ids.response,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    model: body.model,
    instructions: body.instructions ?? null,
    output: done ? outputItems(body, answer, ids) : [],
    tools: body.tools ?? [],
    text: body.text ?? { format: { type: 'text' } },
    error: null,
    incomplete_details: null,
    usage: done ? responsesUsage(answer) : null,
  };
}

export function responsesEvents(body: any, answer: Answer): string {
  const ids = newIds();
  const events: Record<string, unknown>[] = [];
  const emit = (type: string, fields: Record<string, unknown>) => events.push({ type, ...fields });

  emit('response.created', { response: responsesObject(body, answer, ids, 'in_progress') });
  emit('response.in_progress', { response: responsesObject(body, answer, ids, 'in_progress') });
  let outputIndex = 0;
  if (answer.reasoning) {
    const item = reasoningItem(body, answer.reasoning, ids.reasoning);
    emit('response.output_item.added', { output_index: outputIndex, item: { ...item, summary: [], encrypted_content: null } });
    emit('response.output_item.done', { output_index: outputIndex, item });
    outputIndex++;
  }
  if (hasMessage(answer)) {
    const at = { item_id: ids.message, output_index: outputIndex, content_index: 0 };
    const part = (text: string) => ({ type: 'output_text', text, annotations: [] });
    emit('response.output_item.added', { output_index: outputIndex, item: messageItem(ids.message, '', 'in_progress') });
    emit('response.content_part.added', { ...at, part: part('') });
    for (const delta of pieces(answer.text)) emit('response.output_text.delta', { ...at, delta, logprobs: [] });
    emit('response.output_text.done', { ...at, text: answer.text, logprobs: [] });
    emit('response.content_part.done', { ...at, part: part(answer.text) });
    emit('response.output_item.done', { output_index: outputIndex, item: messageItem(ids.message, answer.text, 'completed') });
    outputIndex++;
  }
  for (const call of answer.toolCalls) {
    const at = { item_id: `fc_${call.id}`, output_index: outputIndex };
    emit('response.output_item.added', { output_index: outputIndex, item: functionCallItem(call, 'in_progress') });
    for (const delta of pieces(call.arguments)) emit('response.function_call_arguments.delta', { ...at, delta });
    emit('response.function_call_arguments.done', { ...at, name: call.name, arguments: call.arguments });
    emit('response.output_item.done', { output_index: outputIndex, item: functionCallItem(call, 'completed') });
    outputIndex++;
  }
  emit('response.completed', { response: responsesObject(body, answer, ids) });
  return events.map((event, i) => `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: i })}\n\n`).join('');
}

const newIds = (): Ids => ({ response: `resp_${rid()}`, message: `msg_${rid()}`, reasoning: `rs_${rid()}` });

/** A reply with neither text nor tool calls is still one (empty) message. */
const hasMessage = (answer: Answer) => answer.text !== '' || answer.toolCalls.length === 0;

function outputItems(body: any, answer: Answer, ids: Ids): unknown[] {
  const calls = answer.toolCalls.map((call) => functionCallItem(call, 'completed'));
  const reasoning = answer.reasoning ? [reasoningItem(body, answer.reasoning, ids.reasoning)] : [];
  return hasMessage(answer)
    ? [...reasoning, messageItem(ids.message, answer.text, 'completed'), ...calls]
    : [...reasoning, ...calls];
}

/** As OpenAI sends it: the encrypted content only to a request whose `include` asks for it. */
function reasoningItem(body: any, spec: ReasoningSpec, id: string) {
  const included = Array.isArray(body.include) && body.include.includes('reasoning.encrypted_content');
  const summary = spec.summary === undefined ? [] : [{ type: 'summary_text', text: spec.summary }];
  return { type: 'reasoning', id, summary, encrypted_content: included ? spec.encryptedContent : null };
}

function messageItem(id: string, text: string, status: ItemStatus) {
  const content = status === 'completed' ? [{ type: 'output_text', text, annotations: [] }] : [];
  return { type: 'message', id, status, role: 'assistant', content };
}

function functionCallItem(call: Required<ToolCallSpec>, status: ItemStatus) {
  const args = status === 'completed' ? call.arguments : '';
  return { type: 'function_call', id: `fc_${call.id}`, call_id: call.id, name: call.name, arguments: args, status };
}

function responsesUsage({ usage: u }: Answer) {
  if (!u) return null;
  return {
    input_tokens: u.input,
    input_tokens_details: { cached_tokens: u.cachedInput },
    output_tokens: u.output,
    output_tokens_details: { reasoning_tokens: u.reasoningOutput },
    total_tokens: u.input + u.output,
  };
}
