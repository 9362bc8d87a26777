// `pull --init` sets up the hand-off `memories doctor` checks, so that the Codex on the host reads the pulled folder:
// `[features] memories = true` (Codex loads no memory without it), the namespace's `[memories] version`, and
// `generate_memories = false` (Codex's own generation would write the pulled folder too). A key the file already has
// is kept as it is, whatever its value: the file is the person's, shared with Codex's other settings. Missing keys
// are added as lines under their table, so comments and layout stay; the result is parsed again and written only
// when it holds every earlier value unchanged.
import { chmod, readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseToml } from '../config.ts';
import { writeFileAtomic } from '../files/atomic-write.ts';
import type { LayoutVersion } from '../memory-folder/layout.ts';

export interface HandoffConfigResult {
  /** `table.key = value` for each key added. */
  added: string[];
  /** Keys missing that could not be added as lines (a table written inline or as dotted keys): add them by hand. */
  manual: string[];
}

interface Wanted {
  table: 'features' | 'memories';
  key: string;
  value: string | boolean;
}

const wantedKeys = (layout: LayoutVersion): Wanted[] => [
  { table: 'features', key: 'memories', value: true },
  { table: 'memories', key: 'version', value: layout },
  { table: 'memories', key: 'generate_memories', value: false },
];

const line = (w: Wanted) => `${w.key} = ${JSON.stringify(w.value)}`;
const tableOf = (doc: Record<string, unknown>, table: string) => {
  const value = doc[table];
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
};

/** Adds to `$CODEX_HOME/config.toml` (created when missing) the hand-off keys it lacks. */
export async function ensureHandoffConfig(codexHome: string, layout: LayoutVersion): Promise<HandoffConfigResult> {
  const named = join(codexHome, 'config.toml');
  // A config.toml that is a symlink (a dotfiles checkout) is edited where it points, not replaced.
  const file = await realpath(named).catch(() => named);
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return '';
    throw error;
  });
  const before = parseToml(text, named);
  const missing = wantedKeys(layout).filter((w) => !Object.hasOwn(tableOf(before, w.table) ?? {}, w.key));
  if (missing.length === 0) return { added: [], manual: [] };
  let lines = text === '' ? [] : text.split('\n');
  let doc = before;
  const manual: Wanted[] = [];
  for (const table of ['features', 'memories'] as const) {
    const keys = missing.filter((w) => w.table === table);
    if (keys.length === 0) continue;
    const edited = withKeys(lines, table, keys, doc);
    const parsed = edited && tryParse(edited.join('\n'));
    if (edited && parsed && keeps(doc, parsed, keys)) [lines, doc] = [edited, parsed];
    else manual.push(...keys);
  }
  const added = missing.filter((w) => !manual.includes(w));
  if (added.length > 0) {
    const mode = (await stat(file).catch(() => null))?.mode;
    await writeFileAtomic(file, `${lines.join('\n').replace(/\n*$/, '')}\n`);
    if (mode !== undefined) await chmod(file, mode & 0o777);
  }
  const show = (w: Wanted) => `${w.table}.${line(w)}`;
  return { added: added.map(show), manual: manual.map(show) };
}

/** The lines with `keys` under `[table]`: after its header, or in a new table at the end; null when neither fits. */
function withKeys(lines: string[], table: string, keys: Wanted[], doc: Record<string, unknown>): string[] | null {
  const header = lines.findIndex((l) => new RegExp(`^\\s*\\[\\s*${table}\\s*\\]\\s*(#.*)?$`).test(l));
  if (header >= 0) return [...lines.slice(0, header + 1), ...keys.map(line), ...lines.slice(header + 1)];
  if (doc[table] !== undefined && !tableOf(doc, table)) return null;
  const gap = lines.length > 0 && lines.at(-1)?.trim() !== '' ? [''] : [];
  return [...lines, ...gap, `[${table}]`, ...keys.map(line)];
}

function tryParse(text: string): Record<string, unknown> | null {
  try {
    return parseToml(text, 'config.toml');
  } catch {
    return null;
  }
}

/** True when `after` is `before` plus exactly `keys`. */
function keeps(before: Record<string, unknown>, after: Record<string, unknown>, keys: Wanted[]): boolean {
  const expected = structuredClone(before);
  for (const w of keys) {
    const table = tableOf(expected, w.table) ?? {};
    expected[w.table] = { ...table, [w.key]: w.value };
  }
  return canonical(expected) === canonical(after);
}

const canonical = (value: unknown): string =>
  JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
