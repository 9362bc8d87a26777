// The store documents, zod-checked on every read: a foreign document is a StoreCorruptError (never an empty
// store), a bad row is skipped and logged.
import { z } from 'zod';
import { StoreCorruptError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { type JobsDoc, type Keyed, keyed, type OutputsDoc } from './documents.ts';
import type { BatchRecord, SelectionEntry } from './port.ts';
import { threadIdRefusal } from './thread-id.ts';

const threadIdSchema = z.string().check((ctx) => {
  const refusal = threadIdRefusal(ctx.value);
  if (refusal !== null) ctx.issues.push({ code: 'custom', message: refusal, input: ctx.value });
});

const time = z.number();
const usage = z.object({ input: time, cachedInput: time, output: time, reasoningOutput: time, total: time });
const jobRow = z.looseObject({
  kind: z.enum(['memory_stage1', 'memory_consolidate_global']),
  jobKey: z.string(),
  status: z.enum(['pending', 'running', 'done', 'error']),
  workerId: z.string().nullable(),
  ownershipToken: z.string().nullable(),
  startedAt: time.nullable(),
  finishedAt: time.nullable(),
  leaseUntil: time.nullable(),
  retryAt: time.nullable(),
  retryRemaining: time,
  lastError: z.string().nullable(),
  inputWatermark: time.nullable(),
  lastSuccessWatermark: time.nullable(),
  usage: usage.nullable().optional(),
  outcome: z.enum(['output', 'noOutput', 'forgotten']).optional(),
});
const stage1Row = jobRow.extend({ jobKey: threadIdSchema });
const outputRow = z.looseObject({
  threadId: threadIdSchema,
  sourceUpdatedAt: time,
  rawMemory: z.string(),
  rolloutSummary: z.string(),
  rolloutSlug: z.string().nullable(),
  cwd: z.string(),
  rolloutPath: z.string(),
  gitBranch: z.string().nullable().optional(),
  generatedAt: time,
  usageCount: time,
  lastUsage: time.nullable(),
  citedBy: z.array(z.string()).optional(),
});
const selectionEntry = z.object({ threadId: threadIdSchema, sourceUpdatedAt: time });
const batchRow = z.looseObject({
  batchId: z.string(),
  inputFileId: z.string(),
  endpoint: z.string(),
  model: z.string(),
  workerId: z.string(),
  submittedAt: time,
  expiresAt: time.nullable(),
  jobs: z.array(
    z.looseObject({
      customId: z.string(),
      ownershipToken: z.string(),
      thread: z.looseObject({ threadId: threadIdSchema, updatedAt: time, rolloutPath: z.string(), cwd: z.string() }),
    }),
  ),
});

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Skip = (id: string, reason: string) => void;

/** Valid rows whose key is their id; every other row is reported to `skip` and left out. */
function rows<T>(raw: Record<string, unknown>, schema: z.ZodType<T>, idOf: (row: T) => string, skip: Skip): Keyed<T> {
  const out = keyed<T>();
  for (const [id, value] of Object.entries(raw)) {
    const parsed = schema.safeParse(value);
    if (!parsed.success) skip(id, z.prettifyError(parsed.error));
    else if (idOf(parsed.data) !== id) skip(id, `its id is ${JSON.stringify(idOf(parsed.data))}`);
    else out[id] = parsed.data;
  }
  return out;
}

function skipper(file: string, log: Logger | undefined): Skip {
  return (thread, reason) =>
    log?.warn({ file, thread, reason }, `store: skipped a bad row of ${thread} (dropped at the next write)`);
}

export function decodeJobs(raw: unknown, file: string, log?: Logger): JobsDoc {
  const { stage1, global, lastSelection, batches } = isRecord(raw) ? raw : {};
  const shapeOk =
    isRecord(raw) &&
    raw.version === 1 &&
    isRecord(stage1) &&
    (global === null || isRecord(global)) &&
    Array.isArray(lastSelection) &&
    (batches === undefined || isRecord(batches));
  if (!shapeOk) throw new StoreCorruptError(file, new Error('unexpected document shape'));
  const skip = skipper(file, log);
  const globalRow = global === null ? null : jobRow.safeParse(global);
  if (globalRow?.success === false) skip('global', z.prettifyError(globalRow.error));
  const doc: JobsDoc = {
    version: 1,
    stage1: rows(stage1, stage1Row, (row) => row.jobKey, skip),
    global: globalRow?.success ? globalRow.data : null,
    lastSelection: lastSelection.filter((entry) => selectionEntry.safeParse(entry).success) as SelectionEntry[],
  };
  if (batches) doc.batches = rows(batches, batchRow, (row) => row.batchId, skip) as unknown as Keyed<BatchRecord>;
  return doc;
}

export function decodeOutputs(raw: unknown, file: string, log?: Logger): OutputsDoc {
  if (!isRecord(raw) || raw.version !== 1 || !isRecord(raw.outputs)) {
    throw new StoreCorruptError(file, new Error('unexpected document shape'));
  }
  return { version: 1, outputs: rows(raw.outputs, outputRow, (row) => row.threadId, skipper(file, log)) };
}
