// Consolidation cost: our diff-based prompt (inputs named by file, read through tools) against a bench-only
// variant with every memory inline. The scripted server runs in-process so request bodies can be tokenized.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { memoryRoot, RAW_MEMORIES_FILE, rolloutSummaryStem } from '../../services/memory-folder/artifacts.ts';
import { buildConsolidationPrompt, renderSelectionBlock } from '../../services/consolidation/prompt.ts';
import { startLocalOpenAIServer } from '../../services/local-model/local-openai-server.ts';
import { createLowdbStore } from '../../services/store/lowdb-store.ts';
import { createModelClient } from '../../services/model/model-client.ts';
import { runPipeline } from '../../services/pipeline.ts';
import { scriptedHandler } from '../../services/local-model/scripted-model.ts';
import { countTokens } from '../../services/tokens/tokens.ts';
import { benchReply, seedStage1Outputs } from './seed-outputs.ts';

export type ConsolidationRun = Awaited<ReturnType<typeof consolidationCost>>[number];

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

export async function consolidationCost(home: string, outputs: number) {
  const server = await startLocalOpenAIServer({ handler: scriptedHandler() });
  try {
    const store = createLowdbStore({ dir: join(home, 'memories_state') });
    const threads = await seedStage1Outputs(store, home, outputs);

    const model = createModelClient({ apiKey: 'bench', baseURL: server.url, wireApi: 'responses' });
    const root = memoryRoot(home);

    const consolidate = async (label: string) => {
      const before = server.requests.length;
      const t0 = performance.now();
      const config = { maxRawMemoriesForGlobal: outputs };
      const p2 = (await runPipeline({ codexHome: home, model, phase: '2', config })).phase2!;
      const wallMs = performance.now() - t0;
      const requests = server.requests.slice(before);
      const raw = await readFile(join(root, RAW_MEMORIES_FILE), 'utf8');
      const selection = await store.getPhase2Selection(outputs, 30);
      const block = renderSelectionBlock({
        selected: selection.selected,
        retainedThreadIds: selection.retainedThreadIds,
        removed: selection.removed.map((r) => ({ threadId: r.threadId, rolloutSlug: r.rolloutSlug ?? null })),
        stemOf: rolloutSummaryStem,
      });
      // The inline variant: the same template, with every memory pasted after the selection block.
      const inlinePrompt = await buildConsolidationPrompt(root, `${block}\n\n### All raw memories (inline)\n\n${raw}`);
      return {
        label,
        selected: p2.selected,
        added: p2.added,
        retained: p2.retained,
        // Our prompt as the agent got it, and the same template with the full raw_memories.md inline.
        diffPromptTokens: countTokens(textOf(requests[0]?.body.input.find((item: any) => item?.role === 'user')?.content)),
        inlinePromptTokens: countTokens(inlinePrompt),
        rawMemoriesBytes: Buffer.byteLength(raw),
        turns: p2.turns,
        toolCalls:
          requests.length > 0 ? (requests.at(-1)!.body.input as any[]).filter((i) => i?.type === 'function_call').length : 0,
        // Real tokens of everything sent, next to the server's own chars/4 usage estimate.
        agentInputTokens: requests.reduce((n, r) => n + requestTokens(r.body), 0),
        serverUsageTotal: p2.usage?.total ?? 0,
        status: p2.status,
        wallMs,
      };
    };

    const first = await consolidate(`first run: ${outputs} new memories`);
    // One rollout changed and was re-extracted: the next consolidation has 1 added, the rest retained.
    const changed = { ...threads[0]!, updatedAt: Math.floor(Date.now() / 1000) - 6 * 3_600 };
    const again = await store.claimStage1Jobs({ candidates: [changed], workerId: 'bench', maxClaimed: 1, leaseSeconds: 3_600 });
    for (const c of again.claims) await store.markStage1Succeeded(c.thread, c.ownershipToken, benchReply(0, 1), null);
    return [first, await consolidate('rerun: 1 memory changed')];
  } finally {
    await server.close();
  }
}
