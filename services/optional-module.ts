// Packages that only optional features use (OpenTelemetry export, the inspector, the fleet's PostgreSQL and HTTP
// server, `machines --html`) are optional peer dependencies: a production install leaves them out, since they were
// most of its size. They are imported where the feature starts; when one is absent, the user gets one line naming
// the feature and the npm command that adds what it needs, at the versions package.json declares.
import { ConfigError } from './errors.ts';
import { packageManifest } from './package-version.ts';

/** The package a "Cannot find package 'x' imported from …" (ESM) or "Cannot find module 'x/…'" (require) names. */
function packageOfMissing(error: unknown): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if ((code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') || typeof message !== 'string') return undefined;
  // Only the specifier: the "imported from" path may lie inside another package's folder.
  const specifier = /^Cannot find (?:package|module) '([^']+)'/.exec(message)?.[1];
  if (!specifier) return undefined;
  // A path (a package whose folder is there but whose entry is not) names the package after its last node_modules/.
  const bare = specifier.includes('/node_modules/') ? specifier.slice(specifier.lastIndexOf('/node_modules/') + 14) : specifier;
  if (bare.startsWith('/') || bare.startsWith('.')) return undefined;
  const parts = bare.split('/');
  return bare.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** True when `error` says that one of `names` is not installed (not a module missing inside one of them). */
export function isMissingModule(error: unknown, names: readonly string[]): boolean {
  const name = packageOfMissing(error);
  return name !== undefined && names.includes(name);
}

/** The optional peer dependency `error` says is missing, if it is one. */
export function missingOptionalPeer(error: unknown): string | undefined {
  const name = packageOfMissing(error);
  return name !== undefined && optionalPeers().includes(name) ? name : undefined;
}

/** Every optional peer dependency of this package. */
export function optionalPeers(): string[] {
  const meta = packageManifest()?.peerDependenciesMeta ?? {};
  return Object.keys(meta).filter((name) => meta[name]?.optional);
}

/** `name@version`, the version the peer range starts from (the one the tests ran with). */
function installSpec(name: string): string {
  const range = packageManifest()?.peerDependencies?.[name];
  const version = range && /\d+\.\d+\.\d+\S*/.exec(range)?.[0];
  return version ? `${name}@${version}` : name;
}

/** "`memories serve` needs optional packages that are not installed: npm install pg@8.23.1 fastify@5.12.8" */
export function missingPackagesLine(feature: string, names: readonly string[]): string {
  const what = names.length === 1 ? 'an optional package that is' : 'optional packages that are';
  return `${feature} needs ${what} not installed: npm install ${names.map(installSpec).join(' ')}`;
}

/**
 * Runs `start`; when it fails because one of `names` is not installed, throws a ConfigError with the one line
 * (the CLI prints it and exits 2; a host embedding the library gets the same message).
 */
export async function withOptionalPackages<T>(feature: string, names: readonly string[], start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if (isMissingModule(error, names)) throw new ConfigError(missingPackagesLine(feature, names));
    throw error;
  }
}
