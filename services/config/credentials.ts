// The API key, found where Codex keeps it: the provider's env_key, else OPENAI_API_KEY, else the key that
// `codex login --with-api-key` stored in $CODEX_HOME/auth.json. A ChatGPT login stores OAuth tokens there
// instead; they authorise ChatGPT's own Codex backend, not the OpenAI API we call, so we never send them.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../errors.ts';
import type { ProviderInfo } from './model-providers.ts';

export interface Credential {
  apiKey: string | null;
  /** `env VAR`, `config.toml experimental_bearer_token`, `auth.json`, or `none`. */
  source: string;
  /** Set when auth.json holds only a ChatGPT login: the one line that says why it was not used. */
  chatgptLoginIgnored: string | null;
}

export async function resolveCredential(
  codexHome: string,
  providerId: string,
  provider: ProviderInfo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Credential> {
  const none = { chatgptLoginIgnored: null };
  if (provider.envKey !== null) {
    const value = env[provider.envKey]?.trim();
    if (value) return { apiKey: value, source: `env ${provider.envKey}`, ...none };
    // As Codex does: a provider that names its key's variable needs it; another key would go to the wrong service.
    const help = provider.envKeyInstructions ? ` (${provider.envKeyInstructions})` : '';
    throw new ConfigError(`model provider '${providerId}' reads its API key from ${provider.envKey}, which is not set${help}`);
  }
  if (provider.experimentalBearerToken !== null) {
    return { apiKey: provider.experimentalBearerToken, source: 'config.toml experimental_bearer_token', ...none };
  }
  const fromEnv = env.OPENAI_API_KEY?.trim();
  if (fromEnv) return { apiKey: fromEnv, source: 'env OPENAI_API_KEY', ...none };
  return fromAuthJson(join(codexHome, 'auth.json'));
}

async function fromAuthJson(file: string): Promise<Credential> {
  let auth: { OPENAI_API_KEY?: unknown; tokens?: unknown; auth_mode?: unknown };
  try {
    auth = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { apiKey: null, source: 'none', chatgptLoginIgnored: null };
    throw new ConfigError(`cannot read ${file}: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof auth?.OPENAI_API_KEY === 'string' && auth.OPENAI_API_KEY.trim() !== '') {
    return { apiKey: auth.OPENAI_API_KEY.trim(), source: 'auth.json', chatgptLoginIgnored: null };
  }
  const chatgpt = (auth?.tokens !== undefined && auth.tokens !== null) || auth?.auth_mode === 'chatgpt';
  return {
    apiKey: null,
    source: 'none',
    chatgptLoginIgnored: chatgpt
      ? `${file} holds a ChatGPT login, whose token only ChatGPT's Codex backend accepts, not the OpenAI API this tool calls; it is not sent (set OPENAI_API_KEY, or run \`codex login --with-api-key\`)`
      : null,
  };
}
