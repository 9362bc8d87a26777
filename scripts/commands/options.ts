// Option parsers shared by the command modules.
import { InvalidArgumentError } from 'commander';
import { loadMemoriesConfig, type MemoriesConfig } from '../../services/config.ts';

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
  model?: string;
  phase2Model?: string;
  baseUrl?: string;
  wireApi: string;
  concurrency?: number;
  maxRollouts?: number;
  idleMinutes?: number;
  maxTurns?: number;
  timeoutMs?: number;
}

/** The [memories] config of a Codex home, with the model and claim flags applied. */
export async function configWithFlags(codexHome: string, flags: PipelineFlags): Promise<MemoriesConfig> {
  const config = await loadMemoriesConfig(codexHome);
  if (flags.model) config.phase1Model = flags.model;
  if (flags.phase2Model) config.phase2Model = flags.phase2Model;
  if (flags.maxRollouts !== undefined) config.maxRolloutsPerStartup = flags.maxRollouts;
  return config;
}
