// Codex's model providers: the built-in ids and `[model_providers.<id>]` tables of config.toml, read
// with Codex's field names and defaults so the user's own provider works without repeating it as flags.
import { ConfigError } from '../errors.ts';
import type { WireApi } from '../model/model-client.ts';
import { lineOfKey } from './toml-lines.ts';

export interface ProviderInfo {
  name: string;
  /** Null: Codex's default, the OpenAI API. */
  baseUrl: string | null;
  /** Where `baseUrl` came from (a built-in's default, an environment variable, config.toml). */
  baseUrlSource: string;
  envKey: string | null;
  envKeyInstructions: string | null;
  experimentalBearerToken: string | null;
  wireApi: WireApi;
  queryParams: Record<string, string>;
  httpHeaders: Record<string, string>;
  /** Header name → environment variable holding its value; unset or blank variables send nothing. */
  envHttpHeaders: Record<string, string>;
  /** Codex signs these requests with AWS SigV4, which this tool does not do. */
  needsAwsSigning: boolean;
}

export const OPENAI_PROVIDER_ID = 'openai';
export const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';

const provider = (fields: Partial<ProviderInfo> & Pick<ProviderInfo, 'name' | 'baseUrlSource'>): ProviderInfo => ({
  baseUrl: null,
  envKey: null,
  envKeyInstructions: null,
  experimentalBearerToken: null,
  wireApi: 'responses',
  queryParams: {},
  httpHeaders: {},
  envHttpHeaders: {},
  needsAwsSigning: false,
  ...fields,
});

/** Codex's built-in ids, which config.toml cannot redefine. `oss` is the id older Codex used for Ollama. */
export function builtInProviders(
  env: NodeJS.ProcessEnv,
  openaiBaseUrl: { value: string; source: string } | null,
): Record<string, ProviderInfo> {
  const oss = (port: number): Pick<ProviderInfo, 'baseUrl' | 'baseUrlSource'> => {
    if (env.CODEX_OSS_BASE_URL?.trim()) return { baseUrl: env.CODEX_OSS_BASE_URL, baseUrlSource: 'env CODEX_OSS_BASE_URL' };
    const custom = Number.parseInt(env.CODEX_OSS_PORT ?? '', 10);
    const fromEnv = Number.isInteger(custom) && custom > 0 && custom < 65_536;
    return {
      baseUrl: `http://localhost:${fromEnv ? custom : port}/v1`,
      baseUrlSource: fromEnv ? 'env CODEX_OSS_PORT' : 'default',
    };
  };
  return {
    openai: provider({
      name: 'OpenAI',
      baseUrl: openaiBaseUrl?.value ?? null,
      baseUrlSource: openaiBaseUrl?.source ?? 'default',
      envHttpHeaders: { 'OpenAI-Organization': 'OPENAI_ORGANIZATION', 'OpenAI-Project': 'OPENAI_PROJECT' },
    }),
    ollama: provider({ name: 'gpt-oss', ...oss(11_434) }),
    oss: provider({ name: 'gpt-oss', ...oss(11_434) }),
    lmstudio: provider({ name: 'gpt-oss', ...oss(1_234) }),
    'amazon-bedrock': provider({
      name: 'Amazon Bedrock',
      baseUrl: 'https://bedrock-mantle.us-east-1.api.aws/v1',
      baseUrlSource: 'default',
      needsAwsSigning: true,
    }),
  };
}

/** One `[model_providers.<id>]` table. Keys Codex knows but we have no use for (retries, websockets) are ignored. */
export function parseProviderTable(id: string, table: unknown, file: string, text: string): ProviderInfo {
  const where = (key: string) => {
    const line = lineOfKey(text, `model_providers.${id}`, key);
    return `${file}${line === null ? '' : ` line ${line}`}: model_providers.${id}.${key}`;
  };
  if (typeof table !== 'object' || table === null || Array.isArray(table)) {
    throw new ConfigError(`${file}: model_providers.${id} must be a table`);
  }
  const t = table as Record<string, unknown>;
  const text_ = (key: string): string | null => {
    const value = t[key];
    if (value === undefined) return null;
    if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(`${where(key)} must be a non-empty string`);
    return value;
  };
  const map = (key: string): Record<string, string> => {
    const value = t[key];
    if (value === undefined) return {};
    const ok =
      typeof value === 'object' &&
      value !== null &&
      !Array.isArray(value) &&
      Object.values(value).every((v) => typeof v === 'string');
    if (!ok) throw new ConfigError(`${where(key)} must be a table of strings`);
    return { ...(value as Record<string, string>) };
  };
  const wire = t.wire_api ?? 'responses';
  // Codex 0.169 has dropped "chat"; we still speak it, for local servers without /v1/responses.
  if (wire !== 'responses' && wire !== 'chat') throw new ConfigError(`${where('wire_api')} must be "responses" or "chat"`);
  const baseUrl = text_('base_url');
  return provider({
    name: text_('name') ?? id,
    baseUrl,
    baseUrlSource: baseUrl === null ? 'default' : `config.toml model_providers.${id}`,
    envKey: text_('env_key'),
    envKeyInstructions: text_('env_key_instructions'),
    experimentalBearerToken: text_('experimental_bearer_token'),
    wireApi: wire,
    queryParams: map('query_params'),
    httpHeaders: map('http_headers'),
    envHttpHeaders: map('env_http_headers'),
    needsAwsSigning: t.aws !== undefined,
  });
}
