// Where the model lives and how to reach it: the Codex provider config.toml selects (or OPENAI_API_KEY /
// OPENAI_BASE_URL alone, for library hosts), with --base-url and --wire-api on top, and which wire it speaks.
import type { CodexConfig, Sourced } from '../config/codex-config.ts';
import type { Credential } from '../config/credentials.ts';
import { DEFAULT_OPENAI_BASE_URL } from '../config/model-providers.ts';
import { ConfigError } from '../errors.ts';
import { createModelClient, type ModelClient, type WireApi } from './model-client.ts';

export interface EndpointOptions {
  baseUrl?: string;
  wireApi?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Everything a request needs, each setting with where it came from (for doctor). */
export interface ModelEndpoint {
  providerId: Sourced<string>;
  baseURL: Sourced<string>;
  wireApi: Sourced<WireApi>;
  apiKey: Sourced<string>;
  headers: Record<string, string>;
  query: Record<string, string>;
  /** Lines worth a warning (a ChatGPT login that is not used). */
  notices: string[];
}

const NO_API_KEY =
  'OPENAI_API_KEY is not set; set it, or pass --base-url of an OpenAI-compatible server (try `npm run demo` for a scripted local model)';
// Local OpenAI-compatible servers (Ollama, vLLM, LM Studio) ignore the key, but the SDK wants one.
const UNUSED_KEY = 'not-needed';

export function parseWireApi(value: string | undefined): WireApi {
  if (value === undefined || value === 'responses' || value === 'chat') return value ?? 'responses';
  throw new ConfigError(`--wire-api must be 'responses' or 'chat', not '${value}'`);
}

/** The endpoint of a Codex home: its provider and credential, then the flags. */
export function resolveModelEndpoint(
  codex: Pick<CodexConfig, 'providerId' | 'provider'>,
  credential: Credential,
  flags: { baseUrl?: string; wireApi?: string },
  env: NodeJS.ProcessEnv = process.env,
): ModelEndpoint {
  const { provider } = codex;
  const baseURL: Sourced<string> =
    flags.baseUrl !== undefined
      ? { value: flags.baseUrl, source: 'flag --base-url' }
      : { value: provider.baseUrl ?? DEFAULT_OPENAI_BASE_URL, source: provider.baseUrlSource };
  if (!/^https?:\/\//.test(baseURL.value)) {
    throw new ConfigError(`base URL must start with http:// or https://, got '${baseURL.value}' (${baseURL.source})`);
  }
  const wireApi: Sourced<WireApi> =
    flags.wireApi !== undefined
      ? { value: parseWireApi(flags.wireApi), source: 'flag --wire-api' }
      : {
          value: provider.wireApi,
          source: codex.providerId.source === 'default' ? 'default' : `model provider ${codex.providerId.value}`,
        };
  let apiKey: Sourced<string>;
  if (credential.apiKey !== null) apiKey = { value: credential.apiKey, source: credential.source };
  else if (sameUrl(baseURL.value, DEFAULT_OPENAI_BASE_URL)) throw new ConfigError(credential.chatgptLoginIgnored ?? NO_API_KEY);
  else apiKey = { value: UNUSED_KEY, source: 'none (not needed by a local server)' };

  const headers = { ...provider.httpHeaders };
  for (const [header, variable] of Object.entries(provider.envHttpHeaders)) {
    const value = env[variable]?.trim();
    if (value) headers[header] = value;
  }
  const notices = credential.chatgptLoginIgnored ? [credential.chatgptLoginIgnored] : [];
  return { providerId: codex.providerId, baseURL, wireApi, apiKey, headers, query: { ...provider.queryParams }, notices };
}

export function modelClientFromEndpoint(endpoint: ModelEndpoint, timeoutMs?: number): ModelClient {
  return createModelClient({
    apiKey: endpoint.apiKey.value,
    baseURL: endpoint.baseURL.value,
    wireApi: endpoint.wireApi.value,
    timeoutMs,
    defaultHeaders: endpoint.headers,
    defaultQuery: endpoint.query,
  });
}

/** For library hosts without a Codex config: OPENAI_API_KEY / OPENAI_BASE_URL and the options. */
export function modelClientFromEnvironment(options: EndpointOptions): ModelClient {
  const env = options.env ?? process.env;
  const baseURL = options.baseUrl ?? (env.OPENAI_BASE_URL || undefined);
  if (baseURL !== undefined && !/^https?:\/\//.test(baseURL)) {
    throw new ConfigError(`base URL must start with http:// or https://, got '${baseURL}'`);
  }
  const apiKey = env.OPENAI_API_KEY || (baseURL ? UNUSED_KEY : undefined);
  if (!apiKey) throw new ConfigError(NO_API_KEY);
  return createModelClient({ apiKey, baseURL, wireApi: parseWireApi(options.wireApi), timeoutMs: options.timeoutMs });
}

/** The same base URL, whatever trailing slashes each was written with. */
export const sameUrl = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
