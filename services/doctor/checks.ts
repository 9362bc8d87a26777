// `memories doctor`: one line per check, saying what is wrong and how to fix it. No check throws or changes anything.
import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_CONFIG, loadMemoriesConfig, type MemoriesConfig } from '../config.ts';
import { errorMessage } from '../errors.ts';
import { createLowdbStore } from '../store/lowdb-store.ts';
import type { WireApi } from '../model/model-client.ts';
import { parseWireApi } from '../model/model-endpoint.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  name: 'codex home' | 'sessions' | 'config' | 'endpoint' | 'store';
  status: CheckStatus;
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
const NO_API_KEY =
  'OPENAI_API_KEY is not set; set it, or pass --base-url of an OpenAI-compatible server (Ollama, vLLM, LM Studio)';

export async function runDoctorChecks(options: DoctorOptions): Promise<CheckResult[]> {
  const home = await checkCodexHome(options.codexHome);
  const usable = home.status !== 'fail';
  const sessions = usable ? await checkSessions(options.codexHome) : check('sessions', 'skip', 'skipped: no usable Codex home');
  const config = await checkConfig(options.codexHome);
  const endpoint = await checkEndpoint(options, config.config ?? DEFAULT_CONFIG);
  return [home, sessions, config.result, endpoint, await checkStore(options.codexHome, usable)];
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

async function checkConfig(codexHome: string): Promise<{ result: CheckResult; config: MemoriesConfig | null }> {
  const name = 'config';
  const file = join(codexHome, 'config.toml');
  try {
    const config = await loadMemoriesConfig(codexHome);
    const where = (await stat(file).then(Boolean, () => false)) ? file : `${file} absent, defaults`;
    const models = `phase-1 model ${config.phase1Model}, phase-2 model ${config.phase2Model}`;
    return { result: check(name, 'ok', `${where}: ${models}, ${config.maxRolloutsPerStartup} rollouts per run`), config };
  } catch (error) {
    return { result: check(name, 'fail', firstLine(errorMessage(error))), config: null };
  }
}

/** GET /models (OpenAI, Ollama, vLLM, LM Studio), else (404/405) one minimal call on the pipeline's wire. */
async function checkEndpoint(options: DoctorOptions, config: MemoriesConfig): Promise<CheckResult> {
  const name = 'endpoint';
  const env = options.env ?? process.env;
  const doFetch = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const explicit = options.baseUrl ?? (env.OPENAI_BASE_URL || undefined);
  if (explicit !== undefined && !/^https?:\/\//.test(explicit)) {
    return check(name, 'fail', `base URL must start with http:// or https://, got '${explicit}'`);
  }
  let wire: WireApi;
  try {
    wire = parseWireApi(options.wireApi);
  } catch (error) {
    return check(name, 'fail', errorMessage(error));
  }
  const apiKey = env.OPENAI_API_KEY || undefined;
  if (!apiKey && explicit === undefined) return check(name, 'fail', NO_API_KEY);
  const base = (explicit ?? DEFAULT_OPENAI_BASE_URL).replace(/\/+$/, '');
  const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${apiKey ?? 'not-needed'}` };

  const request = async (path: string, init: RequestInit = {}) => {
    try {
      return await doFetch(`${base}${path}`, {
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
        const fix = 'set phase_1_model / phase_2_model in [memories] or pass --model';
        return check(name, 'warn', `${base} answers, but does not list model ${[...new Set(missing)].join(' or ')} (${fix})`);
      }
      const listed = ids === null ? 'models listed' : `${plural(ids.length, 'model')} listed`;
      return check(name, 'ok', `${base} answers (${listed})`);
    }
    if (models.status !== 404 && models.status !== 405) return check(name, 'fail', await httpProblem(base, models));

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
    if (!call.ok) return check(name, 'fail', await httpProblem(base, call));
    await call.body?.cancel();
    return check(name, 'ok', `${base} answered a minimal ${wire} request with model ${config.phase1Model}`);
  } catch (error) {
    return check(name, 'fail', firstLine(errorMessage(error)));
  }
}

export async function checkStore(codexHome: string, homeUsable: boolean): Promise<CheckResult> {
  const name = 'store';
  const dir = join(codexHome, 'memories_state');
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

async function httpProblem(base: string, response: Response): Promise<string> {
  let detail = await response.text().catch(() => '');
  try {
    const parsed = JSON.parse(detail) as { error?: { message?: unknown } | string; message?: unknown };
    const message = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? parsed.message);
    detail = typeof message === 'string' ? message : '';
  } catch {
    // not JSON: the text itself is the detail
  }
  const label = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
  const rejected = ': the API key was rejected (check OPENAI_API_KEY)';
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
const plural = (count: number, noun: string) => `${count} ${noun}${count === 1 ? '' : 's'}`;
const firstLine = (text: string) => text.split('\n')[0]!.trim();
