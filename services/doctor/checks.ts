// `memories doctor`: the checks behind it. Each check answers in one line: what it looked at, and
// when something is wrong, what and how to fix it. No check throws or changes anything (the store
// check takes the store's lock for the moment of one read).
import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CONFIG, loadMemoriesConfig, type MemoriesConfig } from '../config.ts';
import { errorMessage } from '../errors.ts';
import { createLowdbStore } from '../store/lowdb-store.ts';
import { parseWireApi, type WireApi } from '../model/model-endpoint.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  name: 'codex home' | 'sessions' | 'config' | 'endpoint' | 'store';
  status: CheckStatus;
  /** One line. */
  message: string;
}

export interface DoctorOptions {
  codexHome: string;
  baseUrl?: string;
  wireApi?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Injected for tests. */
  fetch?: typeof fetch;
}

const DEFAULT_OPENAI_BASE_URL = 'https://api.openai.com/v1';
const DEFAULT_PROBE_TIMEOUT_MS = 15_000;

export async function runDoctorChecks(options: DoctorOptions): Promise<CheckResult[]> {
  const home = await checkCodexHome(options.codexHome);
  const results: CheckResult[] = [home];
  results.push(
    home.status === 'fail'
      ? { name: 'sessions', status: 'skip', message: 'skipped: no usable Codex home' }
      : await checkSessions(options.codexHome),
  );
  const config = await checkConfig(options.codexHome);
  results.push(config.result);
  results.push(await checkEndpoint(options, config.config ?? DEFAULT_CONFIG));
  results.push(await checkStore(options.codexHome, home.status !== 'fail'));
  return results;
}

export async function checkCodexHome(codexHome: string): Promise<CheckResult> {
  const name = 'codex home';
  try {
    const info = await stat(codexHome);
    if (!info.isDirectory()) return { name, status: 'fail', message: `${codexHome} is not a directory (set CODEX_HOME or --codex-home to Codex's home)` };
  } catch (error) {
    return { name, status: 'fail', message: `${codexHome} ${describeFsError(error)} (set CODEX_HOME or --codex-home to Codex's home, usually ~/.codex)` };
  }
  try {
    await access(codexHome, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    return { name, status: 'fail', message: `${codexHome} is not readable and writable by this user` };
  }
  return { name, status: 'ok', message: codexHome };
}

export async function checkSessions(codexHome: string): Promise<CheckResult> {
  const name = 'sessions';
  const dir = join(codexHome, 'sessions');
  let entries: string[];
  try {
    entries = await readdir(dir, { recursive: true });
  } catch (error) {
    return {
      name,
      status: 'fail',
      message: `${dir} ${describeFsError(error)}: Codex has not recorded a session under this CODEX_HOME (wrong --codex-home?)`,
    };
  }
  const rollouts = entries.filter((entry) => /(^|[\\/])rollout-[^\\/]*\.jsonl$/.test(entry)).length;
  if (rollouts === 0) return { name, status: 'warn', message: `${dir} holds no rollout-*.jsonl files yet: nothing to extract` };
  return { name, status: 'ok', message: `${rollouts} rollout file${rollouts === 1 ? '' : 's'} under ${dir}` };
}

export async function checkConfig(codexHome: string): Promise<{ result: CheckResult; config: MemoriesConfig | null }> {
  const name = 'config';
  const file = join(codexHome, 'config.toml');
  try {
    const config = await loadMemoriesConfig(codexHome);
    const present = await stat(file).then(
      () => true,
      () => false,
    );
    const where = present ? file : `${file} absent, defaults`;
    return {
      result: { name, status: 'ok', message: `${where}: phase-1 model ${config.phase1Model}, phase-2 model ${config.phase2Model}, ${config.maxRolloutsPerStartup} rollouts per run` },
      config,
    };
  } catch (error) {
    return { result: { name, status: 'fail', message: firstLine(errorMessage(error)) }, config: null };
  }
}

/**
 * A tiny real request: GET /models (OpenAI, Ollama, vLLM and LM Studio answer it), and where a server
 * has no such route (404/405, e.g. the bundled local server), one minimal model call on the wire the
 * pipeline would use. Credentials are never printed.
 */
export async function checkEndpoint(options: DoctorOptions, config: MemoriesConfig): Promise<CheckResult> {
  const name = 'endpoint';
  const env = options.env ?? process.env;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const explicit = options.baseUrl ?? (env.OPENAI_BASE_URL || undefined);
  if (explicit !== undefined && !/^https?:\/\//.test(explicit)) {
    return { name, status: 'fail', message: `base URL must start with http:// or https://, got '${explicit}'` };
  }
  let wire: WireApi;
  try {
    wire = parseWireApi(options.wireApi);
  } catch (error) {
    return { name, status: 'fail', message: errorMessage(error) };
  }
  const apiKey = env.OPENAI_API_KEY || undefined;
  if (!apiKey && explicit === undefined) {
    return {
      name,
      status: 'fail',
      message: 'OPENAI_API_KEY is not set; set it, or pass --base-url of an OpenAI-compatible server (Ollama, vLLM, LM Studio)',
    };
  }
  const base = (explicit ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '');
  const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${apiKey ?? 'not-needed'}` };

  const request = async (path: string, init: RequestInit = {}) => {
    try {
      return await doFetch(`${base}${path}`, { ...init, headers: { ...headers, ...init.headers }, signal: AbortSignal.timeout(timeoutMs) });
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
        return {
          name,
          status: 'warn',
          message: `${base} answers, but does not list model ${[...new Set(missing)].join(' or ')} (set phase_1_model / phase_2_model in [memories] or pass --model)`,
        };
      }
      return { name, status: 'ok', message: `${base} answers (${ids === null ? 'models listed' : `${ids.length} model${ids.length === 1 ? '' : 's'} listed`})` };
    }
    if (models.status !== 404 && models.status !== 405) return { name, status: 'fail', message: await httpProblem(base, models) };

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
    if (!call.ok) return { name, status: 'fail', message: await httpProblem(base, call) };
    await call.body?.cancel();
    return { name, status: 'ok', message: `${base} answered a minimal ${wire} request with model ${config.phase1Model}` };
  } catch (error) {
    return { name, status: 'fail', message: firstLine(errorMessage(error)) };
  }
}

export async function checkStore(codexHome: string, homeUsable: boolean): Promise<CheckResult> {
  const name = 'store';
  const dir = join(codexHome, 'memories_state');
  if (!homeUsable) return { name, status: 'skip', message: 'skipped: no usable Codex home' };
  try {
    const info = await stat(dir);
    if (!info.isDirectory()) return { name, status: 'fail', message: `${dir} is not a directory; move it aside` };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      return { name, status: 'ok', message: `${dir} not created yet; the first run creates it` };
    }
    return { name, status: 'fail', message: `${dir} ${describeFsError(error)}` };
  }
  try {
    await access(dir, constants.R_OK | constants.W_OK | constants.X_OK);
  } catch {
    return { name, status: 'fail', message: `${dir} is not readable and writable by this user` };
  }
  try {
    const status = await createLowdbStore({ dir }).status();
    const failed = status.jobs.filter((j) => j.status === 'error').length;
    return {
      name,
      status: 'ok',
      message:
        `${dir}: ${status.jobs.length} stage-1 job${status.jobs.length === 1 ? '' : 's'} (${failed} failed), ` +
        `${status.outputs.length} output${status.outputs.length === 1 ? '' : 's'}`,
    };
  } catch (error) {
    return { name, status: 'fail', message: firstLine(errorMessage(error)) };
  }
}

// ---- helpers ----------------------------------------------------------------------------------------

async function modelIds(response: Response): Promise<string[] | null> {
  try {
    const body = (await response.json()) as { data?: Array<{ id?: unknown }> };
    if (!Array.isArray(body?.data)) return null;
    return body.data.map((m) => m?.id).filter((id): id is string => typeof id === 'string');
  } catch {
    return null;
  }
}

async function httpProblem(base: string, response: Response): Promise<string> {
  let detail = '';
  try {
    const text = await response.text();
    try {
      const parsed = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
      const message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message);
      detail = typeof message === 'string' ? message : '';
    } catch {
      detail = text;
    }
  } catch {
    // no body
  }
  const label = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  const hint =
    response.status === 401 || response.status === 403
      ? ': the API key was rejected (check OPENAI_API_KEY)'
      : response.status === 404
        ? ': no such route (does --base-url end in /v1?)'
        : '';
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

function firstLine(text: string): string {
  return text.split('\n')[0]!.trim();
}
