// The Codex home a command works in. A mistyped --codex-home used to be created silently, and the run then
// found no rollouts and reported success; a home is only ever created when the user asks (`--init`).
import { mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { defaultCodexHome } from '../config.ts';
import { ConfigError } from '../errors.ts';

/** The home named by --codex-home, else $CODEX_HOME, else ~/.codex; a ConfigError when it is not a directory.
 * `init`: create it (and its parents) when it does not exist. */
export function existingCodexHome(flag: string | undefined, options: { init?: boolean } = {}): string {
  // Absolute: the home's paths are written into memory files and printed for agents that run elsewhere.
  const home = resolve(flag ?? defaultCodexHome());
  const named = flag !== undefined ? `--codex-home ${home}` : `Codex home ${home}`;
  let isDirectory: boolean;
  try {
    isDirectory = statSync(home).isDirectory();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`${named}: ${(error as Error).message}`);
    if (options.init) {
      mkdirSync(home, { recursive: true });
      return home;
    }
    throw new ConfigError(`${named} does not exist (a typo? \`memories run --init\` creates a new one)`);
  }
  if (!isDirectory) throw new ConfigError(`${named} is not a directory`);
  return home;
}
