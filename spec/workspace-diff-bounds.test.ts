// The workspace diff the agent reads stays within its budget, says so when cut, and never cuts a hand edit
// to the maintained files in favour of the pipeline's own evidence.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { renderWorkspaceBlock } from '../services/consolidation/workspace-block.ts';
import { commitBaseline, diffSinceBaseline, snapshotFolder } from '../services/memory-history/history.ts';
import { MAX_PATCH_CHARS } from '../services/memory-history/workspace-diff.ts';
import { tempCodexHome } from './support/codex-home.ts';

let root: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  let home: string;
  ({ home, cleanup } = await tempCodexHome());
  root = join(home, 'memories');
  await mkdir(join(root, 'rollout_summaries'), { recursive: true });
});
afterEach(() => cleanup());

const counts = { added: 1, retained: 0, removed: 0, notes: 0 };
/** The folder as it is, committed as a consolidation's baseline. */
const commit = async () => commitBaseline(root, counts, await snapshotFolder(root));

describe('workspace diff', () => {
  it('is empty against a baseline nothing has changed since', async () => {
    await writeFile(join(root, 'MEMORY.md'), '# Memory\n');
    const baseline = await commit();
    expect(await diffSinceBaseline(root)).toEqual({ baseline, changes: [], patch: '', truncated: false });
  });

  it('cuts the evidence, not the hand edit, when the changes exceed the budget, and says so', async () => {
    await writeFile(join(root, 'MEMORY.md'), '# Memory\n- old fact\n');
    await writeFile(join(root, 'rollout_summaries', 'old.md'), 'old summary\n');
    await commit();
    await writeFile(join(root, 'MEMORY.md'), '# Memory\n- corrected fact\n');
    await writeFile(
      join(root, 'rollout_summaries', 'big.md'),
      'x'
        .repeat(80)
        .concat('\n')
        .repeat(MAX_PATCH_CHARS / 40),
    );
    await writeFile(join(root, 'rollout_summaries', 'old.md'), Buffer.from([0, 1, 2, 3]));

    const diff = await diffSinceBaseline(root);
    expect(diff.changes).toEqual([
      { path: 'MEMORY.md', status: 'modified' },
      { path: 'rollout_summaries/big.md', status: 'added' },
      { path: 'rollout_summaries/old.md', status: 'modified' },
    ]);
    expect(diff.truncated).toBe(true);
    expect(diff.patch.length).toBeLessThanOrEqual(MAX_PATCH_CHARS);
    expect(diff.patch).toContain('-- old fact\n+- corrected fact');
    expect(diff.patch).not.toContain('big.md');

    const block = await renderWorkspaceBlock(diff);
    expect(block).toContain('- added: rollout_summaries/big.md');
    expect(block).toMatch(/The diff above was cut to stay within the prompt budget/);
  });

  it('marks a binary change without dumping its bytes, and fences a diff that itself holds a code fence', async () => {
    await commit();
    await writeFile(join(root, 'image.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0]));
    await writeFile(join(root, 'MEMORY.md'), '```sh\nmake release\n```\n');
    const block = await renderWorkspaceBlock(await diffSinceBaseline(root));
    expect(block).toContain('Binary file image.png added');
    expect(block).toContain('````diff\n');
    expect(block).not.toMatch(/cut to stay within/);
  });
});
