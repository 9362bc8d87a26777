// The parts of a Codex config.toml this tool acts on: [memories], the model provider (top level or a
// profile's), [features] memories for the hand-off, and [otel] for telemetry. Every other table Codex reads ([projects],
// [mcp_servers], [tui], sandbox and approval keys, …) is left alone, so a real config.toml loads as is.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MEMORIES_KEYS, type MemoriesConfig, parseMemoriesTable, parseToml } from '../config.ts';
import { ConfigError } from '../errors.ts';
import { builtInProviders, OPENAI_PROVIDER_ID, type ProviderInfo, parseProviderTable } from './model-providers.ts';
import { type OtelFileConfig, parseOtelTable } from './otel-config.ts';

/** A value and where it came from: `flag --x`, `profile NAME`, `config.toml`, `env VAR`, `auth.json` or `default`. */
export interface Sourced<T> {
  value: T;
  source: string;
}

export interface CodexConfig {
  file: string;
  exists: boolean;
  memories: MemoriesConfig;
  /** The `config.toml` key that set each field (an alias counts); absent fields are defaults. */
  memoriesKeys: Partial<Record<keyof MemoriesConfig, string>>;
  profile: Sourced<string | null>;
  providerId: Sourced<string>;
  provider: ProviderInfo;
  /** `[model_providers.<id>]` tables naming a built-in id: Codex keeps its built-in, so these change nothing. */
  shadowedProviders: string[];
  /** `[features] memories`, a profile's overriding the top level; Codex's default is off. */
  featuresMemories: Sourced<boolean>;
  /** `[otel]`, Codex's telemetry exporters; null when the table is absent. */
  otel: OtelFileConfig | null;
}

export interface CodexConfigOptions {
  /** `--profile NAME`; else the top-level `profile` key. */
  profile?: string;
  env?: NodeJS.ProcessEnv;
}

export async function loadCodexConfig(codexHome: string, options: CodexConfigOptions = {}): Promise<CodexConfig> {
  const env = options.env ?? process.env;
  const file = join(codexHome, 'config.toml');
  const text = await readConfigText(file);
  const doc = text === null ? {} : parseToml(text, file);
  // The text, kept so errors can name the line of the key at fault.
  const lines = text ?? '';

  const memoriesTable = doc.memories;
  const memories = parseMemoriesTable(memoriesTable, file, lines);
  const memoriesKeys: CodexConfig['memoriesKeys'] = {};
  if (isTable(memoriesTable)) for (const key of Object.keys(memoriesTable)) memoriesKeys[MEMORIES_KEYS[key]!.key] = key;

  const profile = selectProfile(doc, file, options.profile);
  const profileTable = profile.value === null ? {} : (doc.profiles as Record<string, Record<string, unknown>>)[profile.value]!;
  const profileSource = `profile ${profile.value}`;

  const providerId = pick<string>(file, [
    [profileTable.model_provider, profileSource, `profiles.${profile.value}.model_provider`],
    [doc.model_provider, 'config.toml', 'model_provider'],
  ]) ?? { value: OPENAI_PROVIDER_ID, source: 'default' };
  const openaiBaseUrl =
    pick<string>(file, [[doc.openai_base_url, 'config.toml openai_base_url', 'openai_base_url']]) ??
    (env.OPENAI_BASE_URL ? { value: env.OPENAI_BASE_URL, source: 'env OPENAI_BASE_URL' } : null);
  const builtIns = builtInProviders(env, openaiBaseUrl);
  const provider = resolveProvider(doc, file, lines, providerId.value, builtIns);
  const shadowedProviders = isTable(doc.model_providers) ? Object.keys(doc.model_providers).filter((id) => id in builtIns) : [];

  const featuresMemories = pick<boolean>(
    file,
    [
      [
        (profileTable.features as Record<string, unknown> | undefined)?.memories,
        profileSource,
        `profiles.${profile.value}.features.memories`,
      ],
      [(doc.features as Record<string, unknown> | undefined)?.memories, 'config.toml', 'features.memories'],
    ],
    'boolean',
  ) ?? { value: false, source: 'default' };

  const otel = parseOtelTable(doc.otel, file, lines, codexHome);
  return {
    file,
    exists: text !== null,
    memories,
    memoriesKeys,
    profile,
    providerId,
    provider,
    shadowedProviders,
    featuresMemories,
    otel,
  };
}

async function readConfigText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

function selectProfile(doc: Record<string, unknown>, file: string, flag: string | undefined): Sourced<string | null> {
  const chosen =
    flag !== undefined
      ? { value: flag, source: 'flag --profile' }
      : pick<string>(file, [[doc.profile, 'config.toml', 'profile']]);
  if (!chosen) return { value: null, source: 'default' };
  const profiles = isTable(doc.profiles) ? doc.profiles : {};
  // As Codex does: naming a profile that config.toml does not define is an error, not a silent default.
  if (!isTable(profiles[chosen.value]))
    throw new ConfigError(`${file}: no [profiles.${chosen.value}] (selected by ${chosen.source})`);
  return chosen;
}

function resolveProvider(
  doc: Record<string, unknown>,
  file: string,
  text: string,
  id: string,
  builtIns: Record<string, ProviderInfo>,
): ProviderInfo {
  const configured = isTable(doc.model_providers) ? doc.model_providers : {};
  // Codex keeps its built-ins: a [model_providers.openai] table does not replace the OpenAI provider.
  const info = builtIns[id] ?? (id in configured ? parseProviderTable(id, configured[id], file, text) : undefined);
  if (!info) throw new ConfigError(`${file}: model provider '${id}' is neither built in nor defined in [model_providers.${id}]`);
  if (info.needsAwsSigning) {
    throw new ConfigError(
      `model provider '${id}' signs requests with AWS SigV4, which this tool does not do; use an OpenAI-compatible provider`,
    );
  }
  return info;
}

/** The first candidate that is set; a set value of the wrong type is an error naming its key. */
function pick<T extends string | boolean>(
  file: string,
  candidates: Array<[unknown, string, string]>,
  type: 'string' | 'boolean' = 'string',
): Sourced<T> | null {
  for (const [value, source, key] of candidates) {
    if (value === undefined) continue;
    if (typeof value !== type || (type === 'string' && (value as string).trim() === '')) {
      throw new ConfigError(`${file}: ${key} must be ${type === 'string' ? 'a non-empty string' : 'true or false'}`);
    }
    return { value: value as T, source };
  }
  return null;
}

const isTable = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
