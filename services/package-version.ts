// This package's package.json: two folders up from the TypeScript sources, three from the compiled ones in dist/,
// so it is found by walking up rather than by a fixed relative path.
import { readFileSync } from 'node:fs';

export interface PackageManifest {
  name: string;
  version: string;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

export function packageManifest(): PackageManifest | null {
  for (const up of ['../package.json', '../../package.json', '../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as Partial<PackageManifest>;
      if (pkg.name === 'memories-pipeline' && pkg.version) return pkg as PackageManifest;
    } catch {
      // not this level
    }
  }
  return null;
}

export function packageVersion(): string {
  return packageManifest()?.version ?? 'unknown';
}
