// What a new session is told about its memory (shared spec §6.4, §6.5).
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { memoryRoot } from '../services/memory-folder/artifacts.ts';
import { buildReadPathInstructions } from '../services/memory-folder/read-path.ts';
import { countTokens } from '../services/tokens/tokens.ts';

const BEGIN = '========= MEMORY_SUMMARY BEGINS =========';
const END = '========= MEMORY_SUMMARY ENDS =========';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'read-path-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

async function writeSummary(text: string): Promise<void> {
  await mkdir(memoryRoot(home), { recursive: true });
  await writeFile(join(memoryRoot(home), 'memory_summary.md'), text);
}

function summaryBlock(instructions: string): string {
  const start = instructions.indexOf(`${BEGIN}\n`);
  const end = instructions.indexOf(`\n${END}`);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return instructions.slice(start + BEGIN.length + 1, end);
}

describe('buildReadPathInstructions', () => {
  it('gives nothing when there is no memory folder or no summary', async () => {
    expect(await buildReadPathInstructions(home)).toBeNull();
    await mkdir(memoryRoot(home), { recursive: true });
    expect(await buildReadPathInstructions(home)).toBeNull();
  });

  it('gives nothing for a whitespace-only summary', async () => {
    await writeSummary('  \n\n\t \n');
    expect(await buildReadPathInstructions(home)).toBeNull();
  });

  it('embeds the trimmed summary between the delimiters and points at the memory root', async () => {
    await writeSummary('\n\n- Uses pnpm, not npm.\n- Tests: `pnpm vitest`.\n\n');
    const instructions = await buildReadPathInstructions(home);
    expect(instructions).not.toBeNull();
    expect(summaryBlock(instructions!)).toBe('- Uses pnpm, not npm.\n- Tests: `pnpm vitest`.');
    expect(instructions).toContain(memoryRoot(home));
    expect(instructions).toContain(`${memoryRoot(home)}/MEMORY.md`);
    expect(instructions).not.toMatch(/\{\{\s*\w+\s*\}\}/);
  });

  it('cuts a long summary to 5,000 real tokens, keeping its beginning and end', async () => {
    const lines = Array.from({ length: 4_000 }, (_, i) => `- fact number ${i}: the build uses cache key k${i * 7919}`);
    const long = lines.join('\n');
    expect(countTokens(long)).toBeGreaterThan(20_000);
    await writeSummary(long);

    const block = summaryBlock((await buildReadPathInstructions(home))!);
    const tokens = countTokens(block);
    expect(tokens).toBeLessThanOrEqual(5_000);
    expect(tokens).toBeGreaterThan(4_900);
    expect(block).toMatch(/…\d+ tokens truncated…/);
    expect(block.startsWith(lines[0]!)).toBe(true);
    expect(block.endsWith(lines.at(-1)!)).toBe(true);
  });

  it('keeps a summary just under the limit whole', async () => {
    const text = Array.from({ length: 300 }, (_, i) => `- note ${i} about the deploy script`).join('\n');
    expect(countTokens(text)).toBeLessThan(5_000);
    await writeSummary(text);
    expect(summaryBlock((await buildReadPathInstructions(home))!)).toBe(text);
  });

  it('leaves template-looking and replacement-pattern text in the summary literal', async () => {
    const tricky = "Paths live under {{ base_path }}; see {{ memory_summary }}.\nCosts $$5, regex $& and $1 and $' too.";
    await writeSummary(tricky);
    const instructions = (await buildReadPathInstructions(home))!;
    expect(summaryBlock(instructions)).toBe(tricky);
    // The literal placeholders appear only inside the summary, nowhere else.
    expect(instructions.split('{{ base_path }}')).toHaveLength(2);
  });
});
