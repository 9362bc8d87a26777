// `memories doctor`: one line per check, saying what is wrong and how to fix it. No check throws or changes anything.
import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CONFIG, type MemoriesConfig } from '../config.ts';
import { type CodexConfig, loadCodexConfig } from '../config/codex-config.ts';
import { type Credential, resolveCredential } from '../config/credentials.ts';
import { describeSources, providerFor, type SettingSource } from '../config/effective-settings.ts';
import { builtInProviders, OPENAI_PROVIDER_ID } from '../config/model-providers.ts';
import { errorMessage } from '../errors.ts';
import { layoutFor, type MemoryLayout, probeCodex } from '../memory-folder/layout.ts';
import { newestSessionCodexVersion } from '../memory-folder/session-codex-version.ts';
import { type ModelEndpoint, resolveModelEndpoint } from '../model/model-endpoint.ts';
import { createLowdbStore } from '../store/lowdb-store.ts';
import { checkHandoff, strandedMemory } from './handoff.ts';
import { type UnresolvedEndpoint, unresolvedSettings } from './unresolved-settings.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  name: 'codex home' | 'sessions' | 'config' | 'endpoint' | 'hand-off' | 'store';
  status: CheckStatus;
  message: string;
  /** Lines to add to config.toml (the hand-off check). */
  fix?: string[];
}

export interface DoctorReport {
  checks: CheckResult[];
  /** Each effective setting and where it came from, also when the endpoint failed; empty when config.toml could not be read. */
  settings: SettingSource[];
}

export interface DoctorOptions {
  codexHome: string;
  profile?: string;
  baseUrl?: string;
  wireApi?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** The store check of a PostgreSQL store (store-check.ts), given the layout; default: the layout's lowdb store. */
  checkStore?: (layout: MemoryLayout) => Promise<CheckResult>;
  /** Injected for tests. */
  fetch?: typeof fetch;
}

const DEFAULT_PROBE_TIMEOUT_MS = 15_000;

export async function runDoctorChecks(options: DoctorOptions): Promise<DoctorReport> {
  const env = options.env ?? process.env;
  const home = await checkCodexHome(options.codexHome);
  const usable = home.status !== 'fail';
  const sessions = usable ? await checkSessions(options.codexHome) : check('sessions', 'skip', 'skipped: no usable Codex home');
  const config = await checkConfig(options, env);
  const resolved = await resolveEndpoint(options, config.codex, env);
  const memories = config.codex?.memories ?? DEFAULT_CONFIG;
  const endpoint =
    'error' in resolved ? check('endpoint', 'fail', resolved.error) : await checkEndpoint(options, resolved, memories);
  const probe = probeCodex(env);
  const layout = layoutFor(options.codexHome, memories.version, () => probe);
  let handoff = check('hand-off', 'skip', 'skipped: config.toml could not be read');
  if (config.codex) {
    const stranded = usable ? await strandedMemory(options.codexHome, layout) : null;
    const sessionVersion = usable ? newestSessionCodexVersion(options.codexHome) : null;
    const { ok, message, fix } = checkHandoff(config.codex, layout, probe, stranded, sessionVersion);
    handoff = { ...check('hand-off', ok ? 'ok' : 'warn', message), ...(ok ? {} : { fix }) };
  }
  const store =
    options.checkStore && usable
      ? await options.checkStore(layout)
      : await checkStore(options.codexHome, usable, layout.stateDir);
  const settings = !config.codex
    ? []
    : 'error' in resolved
      ? unresolvedSettings(config.codex, memories, resolved, options)
      : describeSources(config.codex, memories, resolved, {});
  return { checks: [home, sessions, config.result, endpoint, handoff, store], settings };
}

async function checkCodexHome(codexHome: string): Promise<CheckResult> {
  const name = 'codex home';
  const fix = "set CODEX_HOME or --codex-home to Codex's home";
  try {
    if (!(await stat(codexHome)).isDirectory()) return check(name, 'fail', `${codexHome} is not a directory (${fix})`);
  } catch (error) {
    return check(name, 'fail', `${codexHome} ${describeFsError(error)} (${fix}, usually ~/.codex)`);
  }
  if (!(await rwx(codexHome))) return check(name, 'fail', `${codexHome} is not readable and writable by this user`);
  return check(name, 'ok', codexHome);
}

async function checkSessions(codexHome: string): Promise<CheckResult> {
  const name = 'sessions';
  const dir = join(codexHome, 'sessions');
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch (error) {
    const why = 'Codex has not recorded a session under this CODEX_HOME (wrong --codex-home?)';
    return check(name, 'fail', `${dir} ${describeFsError(error)}: ${why}`);
  }
  const rollouts = entries.filter((entry) => /(^|[\\/])rollout-[^\\/]*\.jsonl$/.test(entry)).length;
  if (rollouts === 0) return check(name, 'warn', `${dir} holds no rollout-*.jsonl files yet: nothing to extract`);
  return check(name, 'ok', `${plural(rollouts, 'rollout file')} under ${dir}`);
}

async function checkConfig(
  options: DoctorOptions,
  env: NodeJS.ProcessEnv,
): Promise<{ result: CheckResult; codex: CodexConfig | null }> {
  const name = 'config';
  try {
    const codex = await loadCodexConfig(options.codexHome, { profile: options.profile, env });
    const where = codex.exists ? codex.file : `${codex.file} absent, defaults`;
    const { memories } = codex;
    const models = `phase-1 model ${memories.phase1Model}, phase-2 model ${memories.phase2Model}`;
    const profile = codex.profile.value === null ? '' : `, profile ${codex.profile.value}`;
    const summary = `${where}: ${models}, ${memories.maxRolloutsPerStartup} rollouts per run${profile}`;
    const shadowed = codex.shadowedProviders.map((id) => `[model_providers.${id}]`);
    if (shadowed.length === 0) return { result: check(name, 'ok', summary), codex };
    // As in Codex, a table cannot redefine a built-in provider: say so rather than let its base_url look used.
    const why = `${shadowed.join(', ')} ignored: a built-in provider cannot be redefined (give the table another id and set model_provider to it)`;
    return { result: check(name, 'warn', `${summary}; ${why}`), codex };
  } catch (error) {
    return { result: check(name, 'fail', firstLine(errorMessage(error))), codex: null };
  }
}

/** The provider of config.toml, or with a broken config.toml the built-in OpenAI one, so the endpoint is still probed. */
async function resolveEndpoint(
  options: DoctorOptions,
  codex: CodexConfig | null,
  env: NodeJS.ProcessEnv,
): Promise<ModelEndpoint | UnresolvedEndpoint> {
  const fallback = () => {
    const openaiBaseUrl = env.OPENAI_BASE_URL ? { value: env.OPENAI_BASE_URL, source: 'env OPENAI_BASE_URL' } : null;
    const provider = builtInProviders(env, openaiBaseUrl)[OPENAI_PROVIDER_ID]!;
    return { providerId: { value: OPENAI_PROVIDER_ID, source: 'default' }, provider };
  };
  const { providerId, provider: configured } = codex ?? fallback();
  // As run: a --base-url elsewhere gets none of the provider's key or headers.
  const provider = providerFor(configured, options.baseUrl);
  let credential: Credential | null = null;
  try {
    credential = await resolveCredential(options.codexHome, providerId.value, provider, env);
    return resolveModelEndpoint({ providerId, provider }, credential, options, env);
  } catch (error) {
    return { error: firstLine(errorMessage(error)), providerId, provider, credential };
  }
}

/** GET /models (OpenAI, Ollama, vLLM, LM Studio), else (404/405) one minimal call on the pipeline's wire. */
async function checkEndpoint(options: DoctorOptions, endpoint: ModelEndpoint, config: MemoriesConfig): Promise<CheckResult> {
  const name = 'endpoint';
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const wire = endpoint.wireApi.value;
  const base = endpoint.baseURL.value.replace(/\/+$/, '');
  const query = new URLSearchParams(endpoint.query).toString();
  const headers: Record<string, string> = {
    ...endpoint.headers,
    accept: 'application/json',
    authorization: `Bearer ${endpoint.apiKey.value}`,
  };
  const notice = endpoint.notices.length > 0 ? ` (${endpoint.notices.join('; ')})` : '';

  const request = async (path: string, init: RequestInit = {}) => {
    try {
      return await doFetch(`${base}${path}${query ? `?${query}` : ''}`, {
        ...init,
        headers: { ...headers, ...init.headers },
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new Error(unreachable(base, error, timeoutMs));
    }
  };

  try {
    const models = await request('/models');
    if (models.ok) {
      const ids = await modelIds(models);
      const missing = [config.phase1Model, config.phase2Model].filter((m) => ids !== null && !ids.includes(m));
      if (ids !== null && ids.length > 0 && missing.length > 0) {
        const fix = 'set extract_model / consolidation_model in [memories] or pass --model';
        return check(name, 'warn', `${base} answers, but does not list model ${[...new Set(missing)].join(' or ')} (${fix})`);
      }
      const listed = ids === null ? 'models listed' : `${plural(ids.length, 'model')} listed`;
      return check(name, 'ok', `${base} answers (${listed})${notice}`);
    }
    if (models.status !== 404 && models.status !== 405) return check(name, 'fail', await httpProblem(base, models, endpoint));

    // No /models route: one minimal call with the phase-1 model.
    const body =
      wire === 'responses'
        ? { model: config.phase1Model, input: 'Reply with OK.', max_output_tokens: 16, store: false }
        : { model: config.phase1Model, messages: [{ role: 'user', content: 'Reply with OK.' }], max_tokens: 16 };
    const call = await request(wire === 'responses' ? '/responses' : '/chat/completions', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!call.ok) return check(name, 'fail', await httpProblem(base, call, endpoint));
    await call.body?.cancel();
    return check(name, 'ok', `${base} answered a minimal ${wire} request with model ${config.phase1Model}${notice}`);
  } catch (error) {
    return check(name, 'fail', firstLine(errorMessage(error)));
  }
}

export async function checkStore(
  codexHome: string,
  homeUsable: boolean,
  dir = join(codexHome, 'memories_state'),
): Promise<CheckResult> {
  const name = 'store';
  if (!homeUsable) return check(name, 'skip', 'skipped: no usable Codex home');
  try {
    if (!(await stat(dir)).isDirectory()) return check(name, 'fail', `${dir} is not a directory; move it aside`);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    if (missing) return check(name, 'ok', `${dir} not created yet; the first run creates it`);
    return check(name, 'fail', `${dir} ${describeFsError(error)}`);
  }
  if (!(await rwx(dir))) return check(name, 'fail', `${dir} is not readable and writable by this user`);
  try {
    const { jobs, outputs } = await createLowdbStore({ dir }).status();
    const failed = jobs.filter((j) => j.status === 'error').length;
    const counts = `${plural(jobs.length, 'stage-1 job')} (${failed} failed), ${plural(outputs.length, 'output')}`;
    return check(name, 'ok', `${dir}: ${counts}`);
  } catch (error) {
    return check(name, 'fail', firstLine(errorMessage(error)));
  }
}

async function modelIds(response: Response): Promise<string[] | null> {
  const body = (await response.json().catch(() => null)) as { data?: Array<{ id?: unknown }> } | null;
  if (!Array.isArray(body?.data)) return null;
  return body.data.map((m) => m?.id).filter((id): id is string => typeof id === 'string');
}

async function httpProblem(base: string, response: Response, endpoint: ModelEndpoint): Promise<string> {
  let detail = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(detail) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message);
    detail = typeof message === 'string' ? message : '';
  } catch {
    // not JSON: the text itself is the detail
  }
  const label = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  const rejected = `: the API key was rejected (check ${endpoint.apiKey.source})`;
  const hint = { 401: rejected, 403: rejected, 404: ': no such route (does --base-url end in /v1?)' }[response.status] ?? '';
  const tail = detail.trim() === '' ? '' : ` — ${firstLine(detail).slice(0, 200)}`;
  return `${base} answered ${label}${hint}${tail}`;
}

function unreachable(base: string, error: unknown, timeoutMs: number): string {
  const e = error as { name?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `${base} did not answer within ${timeoutMs} ms`;
  const reason = e?.cause?.code ?? e?.cause?.message ?? errorMessage(error);
  return `cannot reach ${base}: ${reason}`;
}

function describeFsError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'does not exist';
  if (code === 'EACCES' || code === 'EPERM') return 'is not accessible (permission denied)';
  if (code === 'ENOTDIR') return 'is not a directory';
  return `cannot be read (${firstLine(errorMessage(error))})`;
}

/** Whether this user can read, write and enter `dir`. */
const rwx = (dir: string) =>
  access(dir, constants.R_OK | constants.W_OK | constants.X_OK)
    .then(() => true)
    .catch(() => false);

const check = (name: CheckResult['name'], status: CheckStatus, message: string): CheckResult => ({ name, status, message });
export const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
const firstLine = (text: string) => text.split('\n')[0]!.trim();
