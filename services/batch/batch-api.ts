// The four calls batch mode makes to OpenAI's Files and Batches API, through the openai SDK. Apart
// from model-client.ts because this is OpenAI's Batch API specifically; a test or a host can give
// batch mode any other object of this shape.
import OpenAI, { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';

/** The batch endpoint phase-1 requests go to (the same body as the synchronous Responses call). */
export const BATCH_ENDPOINT = '/v1/responses' as const;
/** Lease of a job held by a submitted batch: the provider's 24 h window, plus an hour for it to
 * finalise and for a run to come by. */
export const BATCH_LEASE_SECONDS = 25 * 3_600;

export type BatchStatus = Batch['status'];
export type BatchApi = ReturnType<typeof createBatchApi>;
export type BatchInfo = ReturnType<typeof batchInfo>;

export function createBatchApi(options: { apiKey: string; baseURL?: string; timeoutMs?: number }) {
  // No retries here: a failed call releases or keeps the jobs, and a later run tries again.
  const { apiKey, baseURL, timeoutMs = 600_000 } = options;
  const sdk = new OpenAI({ apiKey, baseURL, timeout: timeoutMs, maxRetries: 0 });
  return {
    /** Uploads a JSONL file with purpose `batch`; resolves with the file id. */
    async uploadBatchFile(jsonl: string, filename: string): Promise<string> {
      const file = await toFile(Buffer.from(jsonl, 'utf8'), filename, { type: 'application/jsonl' });
      return (await sdk.files.create({ file, purpose: 'batch' })).id;
    },
    async createBatch(inputFileId: string, metadata?: Record<string, string>) {
      return batchInfo(
        await sdk.batches.create({ input_file_id: inputFileId, endpoint: BATCH_ENDPOINT, completion_window: '24h', metadata }),
      );
    },
    retrieveBatch: async (batchId: string) => batchInfo(await sdk.batches.retrieve(batchId)),
    /** The file's text (output and error files are JSONL). */
    fileContent: async (fileId: string): Promise<string> => (await sdk.files.content(fileId)).text(),
  };
}

function batchInfo(batch: Batch) {
  return {
    id: batch.id,
    status: batch.status,
    inputFileId: batch.input_file_id,
    outputFileId: batch.output_file_id || null,
    errorFileId: batch.error_file_id || null,
    /** Unix seconds. */
    expiresAt: batch.expires_at ?? null,
    /** Batch-level errors (e.g. why validation failed), one line each. */
    errors: (batch.errors?.data ?? []).map(
      (e) => `${e.code ?? 'error'}: ${e.message ?? 'no message'}${e.line != null ? ` (line ${e.line})` : ''}`,
    ),
    requestCounts: batch.request_counts ?? null,
  };
}
