// Option parsers shared by the command modules.
import { InvalidArgumentError } from 'commander';
import { type EffectiveSettings, loadEffectiveSettings } from '../../services/config/effective-settings.ts';

export function integer(name: string) {
  return (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number ≥ 0`);
    return n;
  };
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
  const settings = await loadEffectiveSettings(codexHome, flags);
  for (const notice of settings.endpoint.notices) process.stderr.write(`memories: ${notice}\n`);
  return settings;
}

export const PROFILE_HELP = 'the [profiles.NAME] of config.toml to apply (default: its top-level `profile`)';
export const BASE_URL_HELP =
  "OpenAI-compatible endpoint (default: the base_url of config.toml's model provider, else $OPENAI_BASE_URL or api.openai.com)";
export const WIRE_API_HELP = "'responses' or 'chat' (default: the model provider's wire_api, else responses)";
