// Where a key sits in config.toml. smol-toml's parsed object keeps no positions, and an error that
// names only the key leaves a user searching a long file shared with Codex's other settings.

/** The 1-based line that sets `table.key` (as `[table]` + `key =`, or a dotted key), or null. */
export function lineOfKey(text: string, table: string, key: string): number | null {
  const wanted = `${table}.${key}`;
  let current = '';
  const lines = text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    const header = /^\[\[?([^\]]+)\]\]?/.exec(line);
    if (header) {
      current = dotted(header[1]!);
      continue;
    }
    const assignment = /^([^=#]+?)\s*=/.exec(line);
    if (!assignment) continue;
    const name = dotted(assignment[1]!);
    if ((current === '' ? name : `${current}.${name}`) === wanted) return index + 1;
  }
  return null;
}

/** `a . "b" . 'c'` → `a.b.c` (a quoted part holding a dot is rare in the tables we look up). */
const dotted = (path: string) =>
  path
    .split('.')
    .map((part) => part.trim().replace(/^(["'])(.*)\1$/, '$2'))
    .join('.');
