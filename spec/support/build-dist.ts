// Vitest global set-up: the specs that start the `memories` bin run the compiled CLI in dist/, so dist/ is rebuilt
// first whenever a source is newer than the last build (a checkout edited since `npm ci` would otherwise test stale
// JavaScript).
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
const STAMP = join(ROOT, 'dist', '.build-stamp');
const SOURCES = ['index.ts', 'machines', 'services', 'scripts', 'tsconfig.json', 'tsconfig.build.json', 'package.json'];

function newestSource(): number {
  let newest = 0;
  for (const top of SOURCES) {
    const path = join(ROOT, top);
    const info = statSync(path);
    if (info.isFile()) newest = Math.max(newest, info.mtimeMs);
    else {
      for (const entry of readdirSync(path, { recursive: true, withFileTypes: true })) {
        if (entry.isFile() && entry.name.endsWith('.ts'))
          newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
      }
    }
  }
  return newest;
}

export default function buildDist(): void {
  const built = (() => {
    try {
      return statSync(STAMP).mtimeMs;
    } catch {
      return 0;
    }
  })();
  if (built >= newestSource()) return;
  execFileSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')],
    {
      stdio: 'inherit',
    },
  );
  writeFileSync(STAMP, '');
}
