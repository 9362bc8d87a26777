// Lays fixture rollouts out as a Codex home (sessions/YYYY/MM/DD/rollout-…-<id>.jsonl), optionally
// many copies with fresh thread ids, with mtimes set so they are idle and recent.
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const FIXTURE_DIR = join(import.meta.dirname, '..', 'spec', 'fixtures', 'rollouts');

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

type CorpusOptions = { count?: number; sourceDir?: string; now?: number };

/**
 * Writes `count` rollouts (fixtures cycled; default one of each) and returns their paths. Copies get a fresh
 * thread id everywhere the original id appeared. Files were last written 7 h ago: idle past Codex's 6 h.
 */
export async function installFixtureRollouts(codexHome: string, options: CorpusOptions = {}): Promise<string[]> {
  const sourceDir = options.sourceDir ?? FIXTURE_DIR;
  const names = (await readdir(sourceDir)).filter((n) => n.endsWith('.jsonl')).sort();
  const texts = await Promise.all(names.map((n) => readFile(join(sourceDir, n), 'utf8')));
  const count = options.count ?? names.length;
  const mtime = new Date((options.now ?? Date.now()) - 7 * 3_600_000);
  const day = mtime.toISOString().slice(0, 10).split('-');
  const dir = join(codexHome, 'sessions', day[0], day[1], day[2]);
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  for (let i = 0; i < count; i++) {
    const text = texts[i % texts.length];
    const original = text.slice(0, 4096).match(UUID)?.[0];
    const id = i < names.length && original ? original : randomUUID();
    const body = original ? text.replaceAll(original, id) : text;
    const stamp = new Date(mtime.getTime() - i * 1000).toISOString().slice(0, 19).replaceAll(':', '-');
    const path = join(dir, `rollout-${stamp}-${id}.jsonl`);
    await writeFile(path, body);
    await utimes(path, mtime, new Date(mtime.getTime() - i * 1000));
    written.push(path);
  }
  return written;
}
