// Where the model lives: OPENAI_API_KEY / OPENAI_BASE_URL or --base-url, and which wire protocol.
import { ConfigError } from '../errors.ts';
import { createModelClient, type ModelClient, type WireApi } from './model-client.ts';

export interface EndpointOptions {
  baseUrl?: string;
  wireApi?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export function parseWireApi(value: string | undefined): WireApi {
  if (value === undefined || value === 'responses' || value === 'chat') return value ?? 'responses';
  throw new ConfigError(`--wire-api must be 'responses' or 'chat', not '${value}'`);
}

export function modelClientFromEnvironment(options: EndpointOptions): ModelClient {
  const env = options.env ?? process.env;
  const baseURL = options.baseUrl ?? (env.OPENAI_BASE_URL || undefined);
  if (baseURL !== undefined && !/^https?:\/\//.test(baseURL)) {
    throw new ConfigError(`base URL must start with http:// or https://, got '${baseURL}'`);
  }
  // Local OpenAI-compatible servers (Ollama, vLLM, LM Studio) ignore the key, but the SDK wants one.
  const apiKey = env.OPENAI_API_KEY || (baseURL ? 'not-needed' : undefined);
  if (!apiKey) {
    throw new ConfigError(
      'OPENAI_API_KEY is not set; set it, or pass --base-url of an OpenAI-compatible server (try `npm run demo` for a scripted local model)',
    );
  }
  return createModelClient({ apiKey, baseURL, wireApi: parseWireApi(options.wireApi), timeoutMs: options.timeoutMs });
}
