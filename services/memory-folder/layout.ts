// Which memory folder Codex will read: `[memories] version` in config.toml, or, with the key absent, the
// default of the Codex on PATH (0.169 switched the default to v2). The answer decides the folder we write,
// the stage-1 schema, the consolidation prompt and the store, so everything that touches memory asks here.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { MemoriesConfig } from '../config.ts';
import { newestSessionCodexVersion } from './session-codex-version.ts';

export type LayoutVersion = 'v1' | 'v2';

export interface MemoryLayout {
  version: LayoutVersion;
  /** CODEX_HOME/memories (v1) or CODEX_HOME/memories_v2 (v2): where Codex reads memory_summary.md. */
  root: string;
  /**
   * Our job and output store. Each layout has its own, as Codex keeps memories_1.sqlite and
   * memories_v2_1.sqlite apart: a v2 output has no raw memory, and a watermark or selection recorded
   * for one folder says nothing about the other, so switching back and forth never mixes them.
   */
  stateDir: string;
  /** One line saying why this layout, for status, doctor and read-path. */
  reason: string;
  /** Chosen with no [memories] version and no Codex to ask: v1 by default, a guess. */
  guessed?: boolean;
}

/** The first Codex release whose default `[memories] version` is v2. */
export const FIRST_V2_DEFAULT: readonly [number, number] = [0, 169];
const PROBE_TIMEOUT_MS = 3_000;

export function layoutRoot(codexHome: string, version: LayoutVersion): string {
  return join(codexHome, version === 'v2' ? 'memories_v2' : 'memories');
}

export function layoutStateDir(codexHome: string, version: LayoutVersion): string {
  // v1 keeps the folder existing installs already have.
  return join(codexHome, version === 'v2' ? 'memories_v2_state' : 'memories_state');
}

export function layoutOf(codexHome: string, version: LayoutVersion, reason: string): MemoryLayout {
  return { version, root: layoutRoot(codexHome, version), stateDir: layoutStateDir(codexHome, version), reason };
}

/** What `codex --version` said: its version, or why there is none. */
export type CodexProbe = { found: true; version: string; text: string } | { found: false; why: string };

/** "codex-cli 0.169.0" → [0, 169, 0]; null when the text holds no version. */
export function parseCodexVersion(text: string): [number, number, number] | null {
  const m = /(\d+)\.(\d+)\.(\d+)/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** Runs `codex --version` from the PATH of `env`, giving up after a short timeout (a hung wrapper must not stall us). */
export function probeCodex(env: NodeJS.ProcessEnv = process.env, timeoutMs = PROBE_TIMEOUT_MS): CodexProbe {
  const result = spawnSync('codex', ['--version'], {
    env,
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (result.error) {
    const code = (result.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { found: false, why: 'no codex on PATH' };
    if (code === 'ETIMEDOUT') return { found: false, why: `codex --version did not answer within ${timeoutMs} ms` };
    return { found: false, why: `codex --version failed: ${result.error.message}` };
  }
  const text = `${result.stdout ?? ''}`.trim().split('\n')[0] ?? '';
  const version = parseCodexVersion(text);
  if (result.status !== 0 || version === null) {
    return { found: false, why: `codex --version gave no version (exit ${result.status ?? result.signal})` };
  }
  return { found: true, version: version.join('.'), text };
}

/** The layout a Codex of this version reads by default. */
export function defaultVersionOf(version: string): LayoutVersion {
  const [major = 0, minor = 0] = parseCodexVersion(version) ?? [];
  const [v2Major, v2Minor] = FIRST_V2_DEFAULT;
  return major > v2Major || (major === v2Major && minor >= v2Minor) ? 'v2' : 'v1';
}

/** The explicit key wins; otherwise the probe decides, and no Codex means v1 (the folder older tools read). */
export function layoutFor(codexHome: string, version: MemoriesConfig['version'], probe: () => CodexProbe): MemoryLayout {
  if (version !== null) return layoutOf(codexHome, version, `[memories] version = "${version}" in config.toml`);
  const found = probe();
  if (!found.found) return { ...layoutOf(codexHome, 'v1', `no [memories] version and ${found.why}: v1`), guessed: true };
  const chosen = defaultVersionOf(found.version);
  return layoutOf(codexHome, chosen, `no [memories] version; ${found.text} on PATH reads ${chosen} by default`);
}

/**
 * A resolver that asks Codex at most once: a host that resolves many times (the daemon, a doctor
 * checking several things) creates one and keeps it, so the cache lives with its caller.
 */
export function createLayoutResolver(env: NodeJS.ProcessEnv = process.env, timeoutMs = PROBE_TIMEOUT_MS) {
  let probed: CodexProbe | undefined;
  const probe = () => {
    probed ??= probeCodex(env, timeoutMs);
    return probed;
  };
  return (codexHome: string, config: Pick<MemoriesConfig, 'version'>): MemoryLayout =>
    layoutFor(codexHome, config.version, probe);
}

/** One-off resolution; runs `codex --version` only when the key is absent. */
export function resolveLayout(
  codexHome: string,
  config: Pick<MemoriesConfig, 'version'>,
  env: NodeJS.ProcessEnv = process.env,
): MemoryLayout {
  return createLayoutResolver(env)(codexHome, config);
}

/**
 * When the layout is a guess and the newest session's Codex reads the other one by default: the line that says so,
 * for `run` and `watch` to print (the folder they write would go unread). Null otherwise.
 */
export function guessedLayoutWarning(codexHome: string, layout: MemoryLayout): string | null {
  if (!layout.guessed) return null;
  const version = newestSessionCodexVersion(codexHome);
  if (version === null || defaultVersionOf(version) === layout.version) return null;
  const reads = layoutRoot(codexHome, defaultVersionOf(version));
  return (
    `warning: writing the ${layout.version} layout to ${layout.root} (no [memories] version and no codex on PATH), ` +
    `but the newest session was written by Codex ${version}, which reads ${reads} by default; ` +
    'set [memories] version in config.toml (`memories doctor` gives the line)'
  );
}
