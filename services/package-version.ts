// This package's version, from its package.json: two folders up from the TypeScript sources, three from the
// compiled ones in dist/, so it is found by walking up rather than by a fixed relative path.
import { readFileSync } from 'node:fs';

export function packageVersion(): string {
  for (const up of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'memories-pipeline' && pkg.version) return pkg.version;
    } catch {
      // not this level
    }
  }
  return 'unknown';
}
