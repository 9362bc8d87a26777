// Prompt templates: Markdown files under <package root>/templates with `{{ name }}` placeholders.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

// templates/ sits at the package root: the nearest folder above this module that holds it (one up from these
// sources, two from their compiled copy in dist/, four from the bench's in bench/tmp/compiled).
function templatesDir(): URL {
  const own = new URL('../templates/', import.meta.url);
  for (let url = own; ; ) {
    if (existsSync(new URL('stage_one_system.md', url))) return url;
    const parent = new URL('../../templates/', url);
    if (parent.href === url.href) return own; // the file system's root: reads then fail naming the expected place
    url = parent;
  }
}
const TEMPLATES_DIR = templatesDir();

const cache = new Map<string, Promise<string>>();

/** The text of templates/<name>.md, read once per process. */
export function loadTemplate(name: string): Promise<string> {
  if (!/^[A-Za-z0-9_-]+$/.test(name)) return Promise.reject(new Error(`bad template name: ${name}`));
  let text = cache.get(name);
  if (text === undefined) {
    text = readFile(fileURLToPath(new URL(`${name}.md`, TEMPLATES_DIR)), 'utf8');
    text.catch(() => cache.delete(name)); // do not cache a failed read
    cache.set(name, text);
  }
  return text;
}

/** Replaces `{{ name }}` placeholders in order, never inside an inserted value (a rollout quoting `{{ rollout_cwd }}`). */
export function renderTemplate(template: string, vars: ReadonlyArray<readonly [string, string]>): string {
  // Even indexes are template text, odd ones inserted values; splitting a text piece keeps the alternation.
  let pieces: string[] = [template];
  for (const [name, value] of vars) {
    const placeholder = `{{ ${name} }}`;
    const next: string[] = [];
    for (let i = 0; i < pieces.length; i++) {
      if (i % 2 === 1) {
        next.push(pieces[i]!);
        continue;
      }
      const parts = pieces[i]!.split(placeholder);
      for (let j = 0; j < parts.length; j++) {
        if (j > 0) next.push(value);
        next.push(parts[j]!);
      }
    }
    pieces = next;
  }
  return pieces.join('');
}
