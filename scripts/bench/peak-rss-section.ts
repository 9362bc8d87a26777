// Section 4: peak RSS of a batch holding a generated 50 MB rollout, and whether it was truncated correctly.
import { runChild } from './child.ts';
import { int, mb, secs, table, verdict, yes } from './markdown.ts';
import { withServer } from './server-process.ts';

export const BIG_BATCH = 50;
const RSS_TARGET_MB = 300;

export async function peakRssSection(
  log: (message: string) => void,
  {
    bigHome,
    baselineHome,
    big,
    model,
    window,
  }: { bigHome: string; baselineHome: string; big: { bytes: number; threadId: string }; model: string; window: number },
): Promise<{ section: string; summary: string[] }> {
  log(`peak RSS: ${BIG_BATCH} rollouts incl. a ${mb(big.bytes)} one (child process)`);
  const bigRun = await withServer(0, (url) =>
    runChild({
      scenario: 'bigRollout',
      home: bigHome,
      url,
      concurrency: 8,
      maxRollouts: BIG_BATCH,
      bigThreadId: big.threadId,
      model,
    }),
  );
  log(`peak RSS baseline: the same ${BIG_BATCH - 1} rollouts without it`);
  const baseline = await withServer(0, (url) =>
    runChild({ scenario: 'throughput', home: baselineHome, url, concurrency: 8, maxRollouts: BIG_BATCH }),
  );
  const b = bigRun.big;
  const fits = b.contentsTokens <= b.tokenLimit && b.instructionTokens + b.inputTokens <= window;
  const truncatedOk = b.sent && b.truncated && b.headKept && b.tailKept && fits;
  const section = [
    `## 4. Peak RSS with a ${mb(big.bytes)} rollout in the batch (generated at bench time: ${int(Math.round(big.bytes / (128 * 1024)))} tool outputs of ~128 KB: build logs with hashes and base64)`,
    '',
    table(
      'Batch | Rollouts | Wall | Peak RSS (pipeline process) | Big rollout sent | Truncation marker | Head / tail sentinels kept | Rollout tokens sent vs limit | Request tokens vs window',
      [
        [
          `with the ${mb(big.bytes)} rollout`,
          bigRun.run.claimed,
          secs(bigRun.run.wallMs),
          `${bigRun.maxRssMB.toFixed(0)} MB`,
          yes(b.sent),
          yes(b.truncated),
          `${yes(b.headKept)} / ${yes(b.tailKept)}`,
          `${int(b.contentsTokens)} / ${int(b.tokenLimit)}`,
          `${int(b.instructionTokens + b.inputTokens)} / ${int(window)}`,
        ],
        [
          'same batch without it',
          baseline.run.claimed,
          secs(baseline.run.wallMs),
          `${baseline.maxRssMB.toFixed(0)} MB`,
          ...Array<string>(5).fill('—'),
        ],
      ],
    ),
  ].join('\n');
  return {
    section,
    summary: [
      `Peak RSS with a ${mb(big.bytes)} rollout in a batch of ${BIG_BATCH}`,
      `≤ ${RSS_TARGET_MB} MB, truncated correctly`,
      `${bigRun.maxRssMB.toFixed(0)} MB (${baseline.maxRssMB.toFixed(0)} MB without it); truncated correctly: ${yes(truncatedOk)}`,
      verdict(bigRun.maxRssMB <= RSS_TARGET_MB && truncatedOk),
    ],
  };
}
