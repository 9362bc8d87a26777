// A thin wrapper over the openai SDK's Files and Batches resources: the four calls batch mode makes.
// Apart from model-client.ts because this is OpenAI's Batch API specifically; a host or a test can
// implement BatchApi with anything else.
import OpenAI, { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import { ConfigError } from '../errors.ts';

/** The batch endpoint phase-1 requests go to (the same body as the synchronous Responses call). */
export const BATCH_ENDPOINT = '/v1/responses' as const;
/** The provider's completion window (24 h). */
export const BATCH_WINDOW_SECONDS = 24 * 3_600;
/** Extra lease beyond the window: time for the provider to finalise and for a run to come by. */
export const BATCH_LEASE_MARGIN_SECONDS = 3_600;
/** Lease of a job held by a submitted batch. */
export const BATCH_LEASE_SECONDS = BATCH_WINDOW_SECONDS + BATCH_LEASE_MARGIN_SECONDS;

export type BatchStatus = Batch['status'];

/** What batch mode reads of a provider batch. */
export interface BatchInfo {
  id: string;
  status: BatchStatus;
  inputFileId: string;
  outputFileId: string | null;
  errorFileId: string | null;
  /** Unix seconds. */
  expiresAt: number | null;
  /** Batch-level errors (e.g. why validation failed), one line each. */
  errors: string[];
  requestCounts: { total: number; completed: number; failed: number } | null;
}

export interface BatchApi {
  /** Uploads a JSONL file with purpose `batch`; returns the file id. */
  uploadBatchFile(jsonl: string, filename: string): Promise<string>;
  createBatch(inputFileId: string, metadata?: Record<string, string>): Promise<BatchInfo>;
  retrieveBatch(batchId: string): Promise<BatchInfo>;
  /** The file's text (output and error files are JSONL). */
  fileContent(fileId: string): Promise<string>;
}

export function createBatchApi(options: { apiKey: string; baseURL?: string; timeoutMs?: number }): BatchApi {
  // No retries here: a failed call releases or keeps the jobs, and a later run tries again.
  const sdk = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL, timeout: options.timeoutMs ?? 600_000, maxRetries: 0 });
  return {
    async uploadBatchFile(jsonl, filename) {
      const file = await toFile(Buffer.from(jsonl, 'utf8'), filename, { type: 'application/jsonl' });
      return (await sdk.files.create({ file, purpose: 'batch' })).id;
    },
    async createBatch(inputFileId, metadata) {
      const batch = await sdk.batches.create({ input_file_id: inputFileId, endpoint: BATCH_ENDPOINT, completion_window: '24h', metadata });
      return batchInfo(batch);
    },
    retrieveBatch: async (batchId) => batchInfo(await sdk.batches.retrieve(batchId)),
    fileContent: async (fileId) => (await sdk.files.content(fileId)).text(),
  };
}

/** Same endpoint rules as modelClientFromEnvironment: OPENAI_API_KEY, OPENAI_BASE_URL or --base-url. */
export function batchApiFromEnvironment(options: { baseUrl?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): BatchApi {
  const env = options.env ?? process.env;
  const baseURL = options.baseUrl ?? (env.OPENAI_BASE_URL || undefined);
  if (baseURL !== undefined && !/^https?:\/\//.test(baseURL)) {
    throw new ConfigError(`base URL must start with http:// or https://, got '${baseURL}'`);
  }
  const apiKey = env.OPENAI_API_KEY || (baseURL ? 'not-needed' : undefined);
  if (!apiKey) throw new ConfigError('OPENAI_API_KEY is not set; batch mode needs the OpenAI Batch API (or a server that implements it)');
  return createBatchApi({ apiKey, baseURL, timeoutMs: options.timeoutMs });
}

function batchInfo(batch: Batch): BatchInfo {
  return {
    id: batch.id,
    status: batch.status,
    inputFileId: batch.input_file_id,
    outputFileId: batch.output_file_id || null,
    errorFileId: batch.error_file_id || null,
    expiresAt: batch.expires_at ?? null,
    errors: (batch.errors?.data ?? []).map(
      (e) => `${e.code ?? 'error'}: ${e.message ?? 'no message'}${e.line != null ? ` (line ${e.line})` : ''}`,
    ),
    requestCounts: batch.request_counts ?? null,
  };
}
