// The settings doctor lists when the endpoint cannot be resolved (no API key, a provider's env_key unset, a bad
// --base-url or --wire-api): exactly when a person needs to see where each came from. Every row is what config.toml,
// the environment and the flags say; the key's row says what is missing instead of failing.
import type { MemoriesConfig } from '../config.ts';
import type { CodexConfig, Sourced } from '../config/codex-config.ts';
import type { Credential } from '../config/credentials.ts';
import { describeSources, type SettingSource } from '../config/effective-settings.ts';
import { DEFAULT_OPENAI_BASE_URL, type ProviderInfo } from '../config/model-providers.ts';
import type { WireApi } from '../model/model-client.ts';
import { type ModelEndpoint, sameUrl } from '../model/model-endpoint.ts';

/** What resolving the endpoint got to before it failed; `credential` is null when finding the key itself failed. */
export interface UnresolvedEndpoint {
  error: string;
  providerId: Sourced<string>;
  provider: ProviderInfo;
  credential: Credential | null;
}

export function unresolvedSettings(
  codex: CodexConfig,
  memories: MemoriesConfig,
  unresolved: UnresolvedEndpoint,
  flags: { baseUrl?: string; wireApi?: string },
): SettingSource[] {
  const { providerId, provider } = unresolved;
  // As resolveModelEndpoint, without its checks: a value it refused is shown as given (the endpoint line says why).
  const baseURL: Sourced<string> =
    flags.baseUrl !== undefined
      ? { value: flags.baseUrl, source: 'flag --base-url' }
      : { value: provider.baseUrl ?? DEFAULT_OPENAI_BASE_URL, source: provider.baseUrlSource };
  const wireApi: Sourced<string> =
    flags.wireApi !== undefined
      ? { value: flags.wireApi, source: 'flag --wire-api' }
      : { value: provider.wireApi, source: providerId.source === 'default' ? 'default' : `model provider ${providerId.value}` };
  const standIn: ModelEndpoint = {
    providerId,
    baseURL,
    wireApi: wireApi as Sourced<WireApi>,
    apiKey: { value: '', source: 'none' },
    headers: {},
    query: {},
    notices: [],
  };
  const key = keyRow(unresolved, baseURL.value);
  return describeSources(codex, memories, standIn, {}).map((row) => (row.setting === 'api key' ? key : row));
}

/** Never the key itself, as in describeSources: only whether there is one and where it came from, or was looked for. */
function keyRow({ error, provider, credential }: UnresolvedEndpoint, baseUrl: string): SettingSource {
  const row = (value: string, source: string) => ({ setting: 'api key', value, source });
  if (credential === null) return row('missing', provider.envKey === null ? error : `env ${provider.envKey} is not set`);
  if (credential.apiKey !== null) return row('set', credential.source);
  if (!sameUrl(baseUrl, DEFAULT_OPENAI_BASE_URL)) return row('none', 'none (not needed by a local server)');
  const why = credential.chatgptLoginIgnored
    ? 'auth.json holds only a ChatGPT login'
    : 'in neither env OPENAI_API_KEY nor auth.json';
  return row('missing', why);
}
