// Reading a finished batch's output and error files: one line per request, each either a Responses
// body or an error. Never throws: an unreadable line becomes that job's failure reason.
import { MAX_REPLY_CHARS } from '../model/model-client.ts';
import { redactSecrets } from '../redaction/redact.ts';
import type { TokenUsage } from '../types.ts';
import type { BatchInfo } from './batch-api.ts';

export type LineResult = { kind: 'reply'; text: string; usage: TokenUsage | null } | { kind: 'error'; reason: string };

const REASON_LIMIT = 1_000;

/** Error texts can quote the model's reply or a key, so they are redacted like any output. */
export function cleanReason(text: string): string {
  const clean = redactSecrets(text);
  return clean.length > REASON_LIMIT ? `${clean.slice(0, REASON_LIMIT)}…` : clean;
}

/** The result of each request by custom_id (the first line wins), and how many lines were unreadable. */
export function readResults(texts: string[]): { results: Map<string, LineResult>; unreadable: number } {
  const results = new Map<string, LineResult>();
  let unreadable = 0;
  for (const line of texts.flatMap((text) => text.split('\n'))) {
    if (line.trim() === '') continue;
    const { customId, result } = readLine(line);
    if (customId === null) unreadable += 1;
    else if (!results.has(customId)) results.set(customId, result);
  }
  return { results, unreadable };
}

/** Why a job of a finished batch has no result line. */
export function missingReason(info: BatchInfo, unreadable: number): string {
  const why = info.errors.length > 0 ? `: ${info.errors.join('; ')}` : '';
  const lost = unreadable > 0 ? ` (${unreadable} result line(s) could not be read)` : '';
  const what: Partial<Record<BatchInfo['status'], string>> = {
    failed: `failed${why}`,
    expired: `expired before this request ran${why}`,
    cancelled: `was cancelled before this request ran${why}`,
  };
  return cleanReason(`batch ${info.id} ${what[info.status] ?? `${info.status} without a result for this request${lost}`}`);
}

function readLine(line: string): { customId: string | null; result: LineResult } {
  let value: any;
  try {
    value = JSON.parse(line);
  } catch {
    // Salvage the request id, if the line still shows it, so that job fails with the true reason.
    const customId = /"custom_id"\s*:\s*"([^"\\]{1,200})"/.exec(line)?.[1] ?? null;
    return { customId, result: { kind: 'error', reason: 'batch result line is not valid JSON' } };
  }
  return { customId: typeof value?.custom_id === 'string' ? value.custom_id : null, result: resultOf(value) };
}

function resultOf(value: any): LineResult {
  const fail = (reason: string): LineResult => ({ kind: 'error', reason });
  if (value.error) {
    const code = typeof value.error.code === 'string' ? `${value.error.code}: ` : '';
    return fail(`batch request failed: ${code}${value.error.message ?? JSON.stringify(value.error)}`);
  }
  const status = value.response?.status_code;
  const body = value.response?.body;
  if (status === undefined) return fail('batch result line has neither a response nor an error');
  if (status !== 200) return fail(`batch request failed (HTTP ${String(status)}): ${body?.error?.message ?? (typeof body === 'string' ? body : 'no message')}`);
  if (!Array.isArray(body?.output)) return fail('batch response body is not a Responses object');
  if (body.status === 'incomplete') return fail(`model reply is incomplete (${body.incomplete_details?.reason ?? 'unknown reason'})`);
  if (body.status === 'failed') return fail(`model response failed: ${body.error?.message ?? 'no reason given'}`);
  let text = '';
  for (const part of body.output.flatMap((item: any) => (item?.type === 'message' && Array.isArray(item.content) ? item.content : []))) {
    if (part?.type === 'output_text' && typeof part.text === 'string') text += part.text;
    else if (part?.type === 'refusal') return fail(`model refused: ${String(part.refusal).slice(0, 200)}`);
    if (text.length > MAX_REPLY_CHARS) return fail(`model reply exceeded ${MAX_REPLY_CHARS} characters; refusing to keep it`);
  }
  return { kind: 'reply', text, usage: usageOf(body.usage) };
}

function usageOf(usage: any): TokenUsage | null {
  if (!usage || typeof usage !== 'object') return null;
  const n = (value: unknown) => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
  const [input, output] = [n(usage.input_tokens), n(usage.output_tokens)];
  return {
    input,
    cachedInput: n(usage.input_tokens_details?.cached_tokens),
    output,
    reasoningOutput: n(usage.output_tokens_details?.reasoning_tokens),
    total: typeof usage.total_tokens === 'number' ? usage.total_tokens : input + output,
  };
}
