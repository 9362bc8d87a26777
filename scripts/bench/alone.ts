// A bench section run on its own (`tsx scripts/bench/<section>.ts`): its summary rows, then the section itself.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { table } from './markdown.ts';

type Section = (
  log: (message: string) => void,
  tmp: string,
) => Promise<{ section: string; summary: Array<Array<string | number>> }>;

/** Runs `section` in a temp folder when `moduleUrl` is the script node was started with. */
export async function runSectionAlone(moduleUrl: string, name: string, section: Section): Promise<void> {
  if (moduleUrl !== `file://${process.argv[1]}`) return;
  const tmp = await mkdtemp(join(tmpdir(), `memories-bench-${name}-`));
  try {
    const out = await section((m) => process.stderr.write(`[bench] ${m}\n`), tmp);
    process.stdout.write(`${table('Figure | Target | Measured | Verdict', out.summary)}\n\n${out.section}\n`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
