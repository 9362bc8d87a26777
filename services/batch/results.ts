// Reading a finished batch's output and error files (one line per request: a Responses body or an
// error). Never throws: an unreadable line becomes a failure reason.
import { MAX_REPLY_CHARS } from '../model/model-client.ts';
import { redactSecrets } from '../redaction/redact.ts';
import type { Response } from 'openai/resources/responses/responses';
import type { TokenUsage } from '../types.ts';
import type { BatchInfo } from './batch-api.ts';

export type LineResult = { kind: 'reply'; text: string; usage: TokenUsage | null } | { kind: 'error'; reason: string };

/** The result of each request by custom_id (the first line wins), and how many lines were unreadable. */
export function readResults(texts: string[]): { results: Map<string, LineResult>; unreadable: number } {
  const results = new Map<string, LineResult>();
  let unreadable = 0;
  for (const line of texts.flatMap((text) => text.split('\n')).filter((l) => l.trim() !== '')) {
    const { customId, result } = readLine(line);
    if (customId === null) unreadable += 1;
    else if (!results.has(customId)) results.set(customId, result);
  }
  return { results, unreadable };
}

/** Why a job of a finished batch has no result line (redacted: provider errors may quote input). */
export function missingReason(info: BatchInfo, unreadable: number): string {
  const why = info.errors.length > 0 ? `: ${info.errors.join('; ')}` : '';
  const lost = unreadable > 0 ? ` (${unreadable} result line(s) could not be read)` : '';
  const what: Partial<Record<BatchInfo['status'], string>> = {
    failed: `failed${why}`,
    expired: `expired before this request ran${why}`,
    cancelled: `was cancelled before this request ran${why}`,
  };
  return redactSecrets(`batch ${info.id} ${what[info.status] ?? `${info.status} without a result for this request${lost}`}`);
}

/** One line of an output or error file, as far as batch mode reads it. */
interface ResultLine {
  custom_id?: unknown;
  error?: { code?: string; message?: string } | null;
  response?: { status_code?: number; body?: Partial<Response> } | null;
}

function readLine(line: string): { customId: string | null; result: LineResult } {
  try {
    const value = JSON.parse(line) as ResultLine;
    return { customId: typeof value?.custom_id === 'string' ? value.custom_id : null, result: resultOf(value) };
  } catch {
    // Salvage the request id, if the line still shows it, so that job fails with the true reason.
    const customId = /"custom_id"\s*:\s*"([^"\\]{1,200})"/.exec(line)?.[1] ?? null;
    return { customId, result: { kind: 'error', reason: 'batch result line is not valid JSON' } };
  }
}

function resultOf({ error, response }: ResultLine): LineResult {
  const fail = (reason: string): LineResult => ({ kind: 'error', reason });
  if (error) return fail(`batch request failed: ${error.code ? `${error.code}: ` : ''}${error.message ?? 'no message'}`);
  const { status_code: status, body } = response ?? {};
  if (status === undefined) return fail('batch result line has neither a response nor an error');
  if (status !== 200) return fail(`batch request failed (HTTP ${status}): ${body?.error?.message ?? 'no message'}`);
  if (!Array.isArray(body?.output)) return fail('batch response body is not a Responses object');
  if (body.status === 'incomplete') return fail(`model reply is incomplete (${body.incomplete_details?.reason ?? 'no reason'})`);
  if (body.status === 'failed') return fail(`model response failed: ${body.error?.message ?? 'no reason given'}`);
  let text = '';
  for (const part of body.output.flatMap((item) => (item.type === 'message' ? item.content : []))) {
    if (part.type === 'refusal') return fail(`model refused: ${part.refusal.slice(0, 200)}`);
    text += part.text;
    if (text.length > MAX_REPLY_CHARS) return fail(`model reply exceeded ${MAX_REPLY_CHARS} characters; refusing to keep it`);
  }
  const u = body.usage;
  const usage = u && {
    input: u.input_tokens,
    cachedInput: u.input_tokens_details?.cached_tokens ?? 0,
    output: u.output_tokens,
    reasoningOutput: u.output_tokens_details?.reasoning_tokens ?? 0,
    total: u.total_tokens,
  };
  return { kind: 'reply', text, usage: usage ?? null };
}
