// Option parsers shared by the command modules.
import { dirname } from 'node:path';
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../../services/errors.ts';
import type { EffectiveSettings } from '../../services/config/effective-settings.ts';

// Commander prefixes a parser's message with "option '--x <n>' argument 'v' is invalid.", so each says what is accepted.
export function integer(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} takes a whole number ≥ 0`);
    return n;
  };
}

/** For a count or a cap where 0 would make the command do nothing while reporting success. */
export function positiveInteger(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} takes a whole number ≥ 1`);
    return n;
  };
}

/** --idle-minutes, the same rule in `run` and `watch`: 0 makes every rollout eligible, fractions are seconds. */
export function minutes(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0)
      throw new InvalidArgumentError(`${name} takes a number of minutes ≥ 0 (fractions allowed)`);
    return n;
  };
}

export const CODEX_HOME_HELP = 'Codex home (default $CODEX_HOME or ~/.codex); it must exist';

/** Why a file could not be opened, in a few words; `missing` says what ENOENT means for it. */
function fileProblem(error: unknown, missing: string): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return missing;
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'it is a directory';
  return (error as Error).message;
}

/** An output file that cannot be opened is a usage error: one line naming the option, not a stack trace. */
export function unwritable(option: string, path: string, error: unknown): ConfigError {
  return new ConfigError(`${option} ${path}: cannot write it (${fileProblem(error, `no directory ${dirname(path)}`)})`);
}

/** An input file that cannot be read likewise. */
export function unreadable(option: string, path: string, error: unknown): ConfigError {
  return new ConfigError(`${option} ${path}: cannot read it (${fileProblem(error, 'no such file')})`);
}

/** The flags `run` and `watch` share. */
export interface PipelineFlags {
  codexHome?: string;
  profile?: string;
  model?: string;
  phase2Model?: string;
  baseUrl?: string;
  wireApi?: string;
  concurrency?: number;
  maxRollouts?: number;
  idleMinutes?: number;
  maxTurns?: number;
  timeoutMs?: number;
}

/** A Codex home's settings with the flags applied; a ChatGPT login that is not used is said once on stderr. */
export async function settingsWithFlags(codexHome: string, flags: PipelineFlags): Promise<EffectiveSettings> {
  // Loaded here, not at the top: status, machines and the other light commands share this module's parsers.
  const { loadEffectiveSettings } = await import('../../services/config/effective-settings.ts');
  const settings = await loadEffectiveSettings(codexHome, flags);
  for (const notice of settings.endpoint.notices) process.stderr.write(`memories: ${notice}\n`);
  return settings;
}

export const PROFILE_HELP = 'the [profiles.NAME] of config.toml to apply (default: its top-level `profile`)';
export const BASE_URL_HELP =
  "OpenAI-compatible endpoint (default: the base_url of config.toml's model provider, else $OPENAI_BASE_URL or api.openai.com)";
export const WIRE_API_HELP = "'responses' or 'chat' (default: the model provider's wire_api, else responses)";
export const INIT_HELP = 'create the Codex home when it does not exist (otherwise a missing one is an error)';
