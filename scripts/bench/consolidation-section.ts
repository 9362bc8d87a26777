// Consolidation cost: the agent loop with our diff-based prompt (the selection block names the
// inputs by file; the agent reads them through its tools) against a variant, built here only, that
// sends every memory inline in the prompt. The scripted server runs in this process so that every
// request body it received can be counted with the real tokenizer.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { memoryRoot, RAW_MEMORIES_FILE, rolloutSummaryStem } from '../../services/memory-folder/artifacts.ts';
import { buildConsolidationPrompt, renderSelectionBlock } from '../../services/consolidation/prompt.ts';
import { startLocalOpenAIServer, type RecordedRequest } from '../../services/local-model/local-openai-server.ts';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import { createModelClient } from '../../services/model/model-client.ts';
import { runPipeline } from '../../services/pipeline.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import { countTokens } from '../../services/tokens/tokens.ts';
import { benchReply, seedStage1Outputs } from './seed-outputs.ts';

/** A realistic stage-1 output (as in scripts/bench-phase2.ts): a few hundred words, a dozen bullets. */

export interface ConsolidationRun {
  label: string;
  selected: number;
  added: number;
  retained: number;
  /** The prompt the agent got (first user message), real tokens. */
  diffPromptTokens: number;
  /** Same prompt with the full raw_memories.md appended (bench-only variant), real tokens. */
  inlinePromptTokens: number;
  rawMemoriesBytes: number;
  turns: number;
  toolCalls: number;
  /** Sum over the run's model requests of the real tokens of everything sent (instructions, messages, tool specs). */
  agentInputTokens: number;
  /** What the server reported as usage (its chars/4 estimate), summed by the agent loop. */
  serverUsageTotal: number;
  status: string;
  wallMs: number;
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map((p) => (typeof p?.text === 'string' ? p.text : '')).join('\n');
  return '';
}

/** Real tokens of one Responses request: instructions, every input item's text, tool specs. */
function requestTokens(body: any): number {
  let n = countTokens(String(body.instructions ?? ''));
  for (const item of Array.isArray(body.input) ? body.input : []) {
    if (item?.type === 'message') n += countTokens(textOf(item.content));
    else if (item?.type === 'function_call') n += countTokens(`${item.name}${item.arguments}`);
    else if (item?.type === 'function_call_output') n += countTokens(textOf(item.output));
  }
  return n + countTokens(JSON.stringify(body.tools ?? []));
}

function promptOf(request: RecordedRequest): string {
  const first = (request.body.input as any[]).find((item) => item?.role === 'user');
  return textOf(first?.content);
}

export async function consolidationCost(home: string, outputs: number): Promise<ConsolidationRun[]> {
  const server = await startLocalOpenAIServer({ handler: scriptedHandler() });
  try {
    const store = createLowdbStore({ dir: join(home, 'memories_state') });
    const threads = await seedStage1Outputs(store, home, outputs);

    const model = createModelClient({ apiKey: 'bench', baseURL: server.url, wireApi: 'responses' });
    const root = memoryRoot(home);
    const runs: ConsolidationRun[] = [];

    const consolidate = async (label: string) => {
      const before = server.requests.length;
      const t0 = performance.now();
      const result = await runPipeline({ codexHome: home, model, phase: '2', config: { maxRawMemoriesForGlobal: outputs } });
      const wallMs = performance.now() - t0;
      const p2 = result.phase2!;
      const requests = server.requests.slice(before);
      const diffPrompt = requests.length > 0 ? promptOf(requests[0]!) : '';
      const raw = await readFile(join(root, RAW_MEMORIES_FILE), 'utf8');
      // Sanity: the bench's rendering of our prompt is the one the agent received.
      const selection = await store.getPhase2Selection(outputs, 30);
      const block = renderSelectionBlock({
        selected: selection.selected,
        retainedThreadIds: selection.retainedThreadIds,
        removed: selection.removed.map((r) => ({ threadId: r.threadId, rolloutSlug: r.rolloutSlug ?? null })),
        stemOf: rolloutSummaryStem,
      });
      // The inline variant: the same template, with every memory pasted after the selection block.
      const inlinePrompt = await buildConsolidationPrompt(root, `${block}\n\n### All raw memories (inline)\n\n${raw}`);
      runs.push({
        label,
        selected: p2.selected,
        added: p2.added,
        retained: p2.retained,
        diffPromptTokens: countTokens(diffPrompt),
        inlinePromptTokens: countTokens(inlinePrompt),
        rawMemoriesBytes: Buffer.byteLength(raw),
        turns: p2.turns,
        toolCalls: requests.length > 0 ? (requests.at(-1)!.body.input as any[]).filter((i) => i?.type === 'function_call').length : 0,
        agentInputTokens: requests.reduce((n, r) => n + requestTokens(r.body), 0),
        serverUsageTotal: p2.usage?.total ?? 0,
        status: p2.status,
        wallMs,
      });
    };

    await consolidate(`first run: ${outputs} new memories`);
    // One rollout changed and was re-extracted: the next consolidation has 1 added, the rest retained.
    const changed = { ...threads[0]!, updatedAt: Math.floor(Date.now() / 1000) - 6 * 3_600 };
    const again = await store.claimStage1Jobs({ candidates: [changed], workerId: 'bench', maxClaimed: 1, leaseSeconds: 3_600 });
    for (const c of again.claims) await store.markStage1Succeeded(c.thread, c.ownershipToken, benchReply(0, 1), null);
    await consolidate('rerun: 1 memory changed');
    return runs;
  } finally {
    await server.close();
  }
}
