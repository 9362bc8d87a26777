// The settings a run uses, each with where it came from: command-line flag > profile > config.toml >
// environment / auth.json > default, the precedence Codex applies. `run`, `watch` and `doctor` share it.
import type { MemoriesConfig } from '../config.ts';
import { type ModelEndpoint, resolveModelEndpoint, sameUrl } from '../model/model-endpoint.ts';
import { type CodexConfig, loadCodexConfig, type Sourced } from './codex-config.ts';
import { resolveCredential } from './credentials.ts';
import { DEFAULT_OPENAI_BASE_URL, type ProviderInfo } from './model-providers.ts';

export interface SettingFlags {
  profile?: string;
  model?: string;
  phase2Model?: string;
  maxRollouts?: number;
  idleMinutes?: number;
  baseUrl?: string;
  wireApi?: string;
}

export interface EffectiveSettings {
  codex: CodexConfig;
  /** [memories] with the flags applied. */
  config: MemoriesConfig;
  endpoint: ModelEndpoint;
  sources: SettingSource[];
}

/** One effective setting: the provider's, then every [memories] key by its Codex 0.169 name. */
export type SettingSource = { setting: string } & Sourced<string>;

/** Codex 0.169's names for the [memories] fields (older aliases are reported under these). */
const MEMORIES_SETTINGS: Array<[string, keyof MemoriesConfig]> = [
  ['version', 'version'],
  ['generate_memories', 'generateMemories'],
  ['use_memories', 'useMemories'],
  ['dual_write', 'dualWrite'],
  ['dedicated_tools', 'dedicatedTools'],
  ['disable_on_external_context', 'disableOnExternalContext'],
  ['extract_model', 'phase1Model'],
  ['consolidation_model', 'phase2Model'],
  ['consolidation_service_tier', 'consolidationServiceTier'],
  ['max_raw_memories_for_consolidation', 'maxRawMemoriesForGlobal'],
  ['max_unused_days', 'maxUnusedDays'],
  ['max_rollout_age_days', 'maxRolloutAgeDays'],
  ['max_rollouts_per_startup', 'maxRolloutsPerStartup'],
  ['min_rollout_idle_hours', 'minRolloutIdleHours'],
  ['min_rate_limit_remaining_percent', 'minRateLimitRemainingPercent'],
];

const FLAG_OF: Partial<Record<keyof MemoriesConfig, [keyof SettingFlags, string]>> = {
  phase1Model: ['model', '--model'],
  phase2Model: ['phase2Model', '--phase2-model'],
  maxRolloutsPerStartup: ['maxRollouts', '--max-rollouts'],
  minRolloutIdleHours: ['idleMinutes', '--idle-minutes'],
};

/** Throws ConfigError on a bad config.toml, an unknown profile or provider, or a missing credential. */
export async function loadEffectiveSettings(
  codexHome: string,
  flags: SettingFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EffectiveSettings> {
  const codex = await loadCodexConfig(codexHome, { profile: flags.profile, env });
  const config = { ...codex.memories };
  if (flags.model) config.phase1Model = flags.model;
  if (flags.phase2Model) config.phase2Model = flags.phase2Model;
  if (flags.maxRollouts !== undefined) config.maxRolloutsPerStartup = flags.maxRollouts;
  const provider = providerFor(codex.provider, flags.baseUrl);
  const credential = await resolveCredential(codexHome, codex.providerId.value, provider, env);
  const endpoint = resolveModelEndpoint({ providerId: codex.providerId, provider }, credential, flags, env);
  return { codex, config, endpoint, sources: describeSources(codex, config, endpoint, flags) };
}

/**
 * The provider as --base-url leaves it: pointed at another server, its key, headers and query stay with the
 * provider's own server (that server gets OPENAI_API_KEY, as any OpenAI-compatible one), and its env_key need
 * not be set. Named again by the flag, the provider's server gets all of it.
 */
export function providerFor(provider: ProviderInfo, baseUrl: string | undefined): ProviderInfo {
  if (baseUrl === undefined) return provider;
  if (sameUrl(baseUrl, provider.baseUrl ?? DEFAULT_OPENAI_BASE_URL)) return provider;
  const none = { envKey: null, envKeyInstructions: null, experimentalBearerToken: null };
  return { ...provider, ...none, httpHeaders: {}, envHttpHeaders: {}, queryParams: {} };
}

export function describeSources(
  codex: CodexConfig,
  config: MemoriesConfig,
  endpoint: ModelEndpoint,
  flags: SettingFlags,
): SettingSource[] {
  const memories = MEMORIES_SETTINGS.map(([setting, field]) => {
    const flag = FLAG_OF[field];
    const key = codex.memoriesKeys[field];
    const source =
      flag && flags[flag[0]] !== undefined
        ? `flag ${flag[1]}`
        : key === undefined
          ? 'default'
          : `config.toml${key === setting ? '' : ` (as ${key})`}`;
    const value = field === 'minRolloutIdleHours' && flags.idleMinutes !== undefined ? `${flags.idleMinutes} min` : config[field];
    return { setting: `memories.${setting}`, value: String(value ?? 'absent'), source };
  });
  return [
    { setting: 'profile', value: codex.profile.value ?? 'none', source: codex.profile.source },
    { setting: 'model_provider', ...endpoint.providerId },
    { setting: 'base_url', ...endpoint.baseURL },
    { setting: 'wire_api', ...endpoint.wireApi },
    // Never the key itself: doctor output gets pasted into bug reports.
    { setting: 'api key', value: endpoint.apiKey.source.startsWith('none') ? 'none' : 'set', source: endpoint.apiKey.source },
    { setting: 'features.memories', value: String(codex.featuresMemories.value), source: codex.featuresMemories.source },
    ...memories,
  ];
}
