// The hand-off to the user's Codex: will it read the folder we write, and will its own generation stay
// out of that folder? Each problem comes with the config.toml line that fixes it.
import { stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CodexConfig } from '../config/codex-config.ts';
import { MEMORY_SUMMARY_FILE } from '../memory-folder/artifacts.ts';
import { type CodexProbe, defaultVersionOf, type LayoutVersion, layoutRoot, type MemoryLayout } from '../memory-folder/layout.ts';

export interface Handoff {
  ok: boolean;
  message: string;
  /** Lines to add to config.toml, grouped under their table headers. */
  fix: string[];
}

/**
 * The other layout's folder when it holds a memory and this layout's folder does not: a Codex found on PATH
 * (or a version key) moved the default, and the memory earlier runs wrote would be left behind unsaid.
 */
export async function strandedMemory(codexHome: string, layout: MemoryLayout): Promise<StrandedMemory | null> {
  const other: LayoutVersion = layout.version === 'v1' ? 'v2' : 'v1';
  const has = (root: string) =>
    stat(join(root, MEMORY_SUMMARY_FILE)).then(
      (s) => s.isFile(),
      () => false,
    );
  const root = layoutRoot(codexHome, other);
  return (await has(root)) && !(await has(layout.root)) ? { version: other, root } : null;
}

export interface StrandedMemory {
  version: LayoutVersion;
  root: string;
}

/**
 * `sessionVersion` is the Codex version that wrote the newest session (newestSessionCodexVersion): with no key and
 * no Codex on PATH, the evidence `run` warns on, so doctor proposes the layout that Codex reads, not the guess.
 */
export function checkHandoff(
  codex: CodexConfig,
  layout: MemoryLayout,
  probe: CodexProbe,
  stranded: StrandedMemory | null = null,
  sessionVersion: string | null = null,
): Handoff {
  const problems: string[] = [];
  const tables = new Map<string, string[]>();
  const add = (table: string, line: string) => tables.set(table, [...(tables.get(table) ?? []), line]);
  const { memories, featuresMemories } = codex;

  if (!featuresMemories.value) {
    problems.push(`features.memories is off (${featuresMemories.source}), so Codex reads no memories`);
    const inProfile = featuresMemories.source.startsWith('profile ');
    add(inProfile ? `[profiles.${codex.profile.value}.features]` : '[features]', 'memories = true');
  }
  if (!memories.useMemories) {
    problems.push('use_memories = false, so Codex does not load memory_summary.md');
    add('[memories]', 'use_memories = true');
  }
  const sessionReads = sessionVersion === null ? null : defaultVersionOf(sessionVersion);
  const codexReads = memories.version ?? (probe.found ? defaultVersionOf(probe.version) : sessionReads);
  if (codexReads === null) {
    // Without a Codex to ask, only an explicit key makes both sides agree.
    const why = probe.found ? '' : ` and ${probe.why}`;
    problems.push(`no [memories] version${why}: cannot tell which layout your Codex reads`);
    add('[memories]', `version = "${layout.version}"`);
  } else if (memories.version === null && !probe.found) {
    // The layout this tool writes is then a guess; the key makes it the one that Codex reads, also after an upgrade.
    problems.push(
      `no [memories] version and ${probe.why}; the newest session was written by Codex ${sessionVersion}, ` +
        `which reads the ${codexReads} layout (${layoutRoot(dirname(layout.root), codexReads)}) by default`,
    );
    add('[memories]', `version = "${codexReads}"`);
  } else if (codexReads !== layout.version) {
    problems.push(`Codex reads the ${codexReads} layout, this tool writes ${layout.version}`);
    add('[memories]', `version = "${layout.version}"`);
  }
  if (stranded && memories.version === null) {
    problems.push(
      `${stranded.root} holds the ${stranded.version} memory earlier runs wrote, which the ${layout.version} layout leaves behind ` +
        `(its next run extracts every session again); \`version = "${stranded.version}"\` keeps it, for Codex too`,
    );
    if (!tables.get('[memories]')?.some((line) => line.startsWith('version')))
      add('[memories]', `version = "${stranded.version}"`);
  }
  if (memories.generateMemories) {
    const source = codex.memoriesKeys.generateMemories ? 'config.toml' : 'default';
    problems.push(`generate_memories is on (${source}), so Codex's own generation writes ${layout.root} too`);
    add('[memories]', 'generate_memories = false');
  }

  const writes = `this tool writes the ${layout.version} layout to ${layout.root} (${layout.reason})`;
  if (problems.length === 0) {
    const message = `Codex reads the ${layout.version} layout that this tool writes to ${layout.root} (${layout.reason}); its own generation is off`;
    return { ok: true, message, fix: [] };
  }
  const fix = [...tables].flatMap(([table, lines]) => [table, ...lines]);
  return { ok: false, message: `${problems.join('; ')}; ${writes}`, fix };
}
