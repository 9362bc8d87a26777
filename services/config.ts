// Settings: the [memories] table of $CODEX_HOME/config.toml with Codex's keys, defaults and clamps
// (shared spec §7), then command-line overrides.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { lineOfKey } from './config/toml-lines.ts';
import { ConfigError } from './errors.ts';

export interface MemoriesConfig {
  maxRawMemoriesForGlobal: number;
  maxRolloutAgeDays: number;
  maxRolloutsPerStartup: number;
  minRolloutIdleHours: number;
  phase1Model: string;
  phase2Model: string;
  maxUnusedDays: number;
  /** [memories] version: the folder layout Codex reads; null when the key is absent (then detected). */
  version: 'v1' | 'v2' | null;
  generateMemories: boolean;
  useMemories: boolean;
  /** Codex marks a thread `polluted` after web search or MCP use when this is on. */
  disableOnExternalContext: boolean;
  dualWrite: boolean;
  dedicatedTools: boolean;
  minRateLimitRemainingPercent: number;
  consolidationServiceTier: string | null;
}

export const DEFAULT_PHASE1_MODEL = 'gpt-5.3-codex-spark';
export const DEFAULT_PHASE2_MODEL = 'gpt-5.3-codex';

export const DEFAULT_CONFIG: MemoriesConfig = {
  maxRawMemoriesForGlobal: 1024,
  maxRolloutAgeDays: 30,
  maxRolloutsPerStartup: 16,
  minRolloutIdleHours: 6,
  phase1Model: DEFAULT_PHASE1_MODEL,
  phase2Model: DEFAULT_PHASE2_MODEL,
  maxUnusedDays: 30,
  version: null,
  generateMemories: true,
  useMemories: true,
  disableOnExternalContext: false,
  dualWrite: false,
  dedicatedTools: false,
  minRateLimitRemainingPercent: 25,
  consolidationServiceTier: null,
};

export type MemoriesField = {
  key: keyof MemoriesConfig;
  kind: 'int' | 'string' | 'bool' | 'version';
  min?: number;
  max?: number;
};

// Target-era keys first; later Codex names are accepted as aliases so one config.toml serves both.
export const MEMORIES_KEYS: Readonly<Record<string, MemoriesField>> = {
  max_raw_memories_for_global: { key: 'maxRawMemoriesForGlobal', kind: 'int', min: 0, max: 4096 },
  max_raw_memories_for_consolidation: { key: 'maxRawMemoriesForGlobal', kind: 'int', min: 1, max: 4096 },
  max_rollout_age_days: { key: 'maxRolloutAgeDays', kind: 'int', min: 0, max: 90 },
  max_rollouts_per_startup: { key: 'maxRolloutsPerStartup', kind: 'int', min: 0, max: 128 },
  min_rollout_idle_hours: { key: 'minRolloutIdleHours', kind: 'int', min: 1, max: 48 },
  phase_1_model: { key: 'phase1Model', kind: 'string' },
  extract_model: { key: 'phase1Model', kind: 'string' },
  phase_2_model: { key: 'phase2Model', kind: 'string' },
  consolidation_model: { key: 'phase2Model', kind: 'string' },
  max_unused_days: { key: 'maxUnusedDays', kind: 'int', min: 0, max: 365 },
  version: { key: 'version', kind: 'version' },
  generate_memories: { key: 'generateMemories', kind: 'bool' },
  use_memories: { key: 'useMemories', kind: 'bool' },
  disable_on_external_context: { key: 'disableOnExternalContext', kind: 'bool' },
  no_memories_if_mcp_or_web_search: { key: 'disableOnExternalContext', kind: 'bool' },
  dual_write: { key: 'dualWrite', kind: 'bool' },
  dedicated_tools: { key: 'dedicatedTools', kind: 'bool' },
  min_rate_limit_remaining_percent: { key: 'minRateLimitRemainingPercent', kind: 'int', min: 0, max: 100 },
  consolidation_service_tier: { key: 'consolidationServiceTier', kind: 'string' },
};

export function defaultCodexHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.CODEX_HOME && env.CODEX_HOME.length > 0 ? env.CODEX_HOME : join(homedir(), '.codex');
}

/** Applies one [memories] table onto the defaults; unknown keys and wrong types are errors.
 * `text`, the file's TOML, lets an unknown key's error name its line. */
export function parseMemoriesTable(table: unknown, file = 'config.toml', text?: string): MemoriesConfig {
  const config: MemoriesConfig = { ...DEFAULT_CONFIG };
  if (table === undefined) return config;
  // Parsed again only when an integer key needs it.
  let exact: Record<string, unknown> | null | undefined;
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new ConfigError(`${file}: [memories] must be a table`);
  }
  for (const [name, value] of Object.entries(table)) {
    const field = MEMORIES_KEYS[name];
    if (!field) {
      const line = text === undefined ? null : lineOfKey(text, 'memories', name);
      throw new ConfigError(`${file}${line === null ? '' : ` line ${line}`}: unknown key memories.${name}`);
    }
    if (field.kind === 'bool' || field.kind === 'version') {
      const ok = field.kind === 'bool' ? typeof value === 'boolean' : value === 'v1' || value === 'v2';
      if (!ok)
        throw new ConfigError(`${file}: memories.${name} must be ${field.kind === 'bool' ? 'true or false' : '"v1" or "v2"'}`);
      (config[field.key] as unknown) = value;
      continue;
    }
    if (field.kind === 'string') {
      if (typeof value !== 'string' || value.trim() === '') {
        throw new ConfigError(`${file}: memories.${name} must be a non-empty string`);
      }
      (config[field.key] as string) = value;
      continue;
    }
    const number = typeof value === 'bigint' ? Number(value) : value;
    // 2.0 and 1e3 are floats to TOML, whole or not: only the exact parse tells them from integers.
    exact ??= exactMemoriesTable(text);
    const float = exact !== null && typeof exact[name] !== 'bigint';
    if (typeof number !== 'number' || !Number.isInteger(number) || float) {
      throw new ConfigError(`${file}: memories.${name} must be an integer`);
    }
    // Codex reads these as unsigned integers: a negative one is an error there, not a clamp.
    if (number < 0) throw new ConfigError(`${file}: memories.${name} must be 0 or more`);
    (config[field.key] as number) = clamp(number, field.min ?? 0, field.max ?? Number.MAX_SAFE_INTEGER);
  }
  return config;
}

/** The [memories] table parsed again with TOML's integers as bigint; null without the text. */
function exactMemoriesTable(text: string | undefined): Record<string, unknown> | null {
  if (!text) return null;
  const table = toml().parse(text, { integersAsBigInt: true }).memories;
  return typeof table === 'object' && table !== null ? (table as Record<string, unknown>) : null;
}

/** Reads $CODEX_HOME/config.toml; a missing file means the defaults. */
export async function loadMemoriesConfig(codexHome: string): Promise<MemoriesConfig> {
  const file = join(codexHome, 'config.toml');
  return memoriesConfigOf(file, await readFile(file, 'utf8').catch(missingAsNull(file)));
}

/** The same, synchronously: for `createMemoriesPipeline`, which returns its running actor at once. */
export function loadMemoriesConfigSync(codexHome: string): MemoriesConfig {
  const file = join(codexHome, 'config.toml');
  let text: string | null;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    text = missingAsNull(file)(error);
  }
  return memoriesConfigOf(file, text);
}

function memoriesConfigOf(file: string, text: string | null): MemoriesConfig {
  if (text === null) return { ...DEFAULT_CONFIG };
  return parseMemoriesTable(parseToml(text, file).memories, file, text);
}

function missingAsNull(file: string) {
  return (error: unknown): null => {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`);
  };
}

// smol-toml is loaded with the first config.toml parsed: a home without one (a new home, `status` on it) never needs
// it. Its CommonJS build, so that parsing stays synchronous; one file, where its ES module build is nine.
const toml = () => createRequire(import.meta.url)('smol-toml') as typeof import('smol-toml');

export function parseToml(text: string, file: string): Record<string, unknown> {
  try {
    return toml().parse(text) as Record<string, unknown>;
  } catch (error) {
    // smol-toml's message is a multi-line code frame; its position is kept as fields, the reason is the first line.
    const { line, column, message } = error as Error & { line?: number; column?: number };
    const reason = message.split('\n')[0]!.replace(/^Invalid TOML document: /, '');
    const where = line === undefined ? '' : ` line ${line}${column === undefined ? '' : `, column ${column}`}`;
    throw new ConfigError(`${file}${where}: not valid TOML: ${reason}`);
  }
}

function clamp(value: number, min: number, max: number): number {
  return Math.min(Math.max(value, min), max);
}
