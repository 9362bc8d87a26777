// Headless Chromium for tests that must see a page rendered, not just its source. CI installs
// Debian's `chromium` (.ci/run); a machine without it fails these tests with the install command.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const NAMES = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];

/** The browser binary: $CHROMIUM_BIN, else the first of NAMES on $PATH. */
export function chromiumBinary(): string {
  const fromEnv = process.env.CHROMIUM_BIN;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    for (const name of NAMES) if (dir && existsSync(join(dir, name))) return join(dir, name);
  }
  throw new Error(
    'headless Chromium is required for this test and was not found on PATH. ' +
      'Install it with `apt-get install -y chromium` (Debian; CI does this in .ci/run) or set CHROMIUM_BIN.',
  );
}

/**
 * Loads `url` (file:// or http://127.0.0.1) and returns the DOM after scripts ran. Without the
 * background-networking flags Chromium stalls on a closed network; a fresh profile per call keeps
 * runs independent.
 */
export async function dumpDom(url: string, budgetMs = 8_000): Promise<string> {
  const binary = chromiumBinary();
  const profile = await mkdtemp(join(tmpdir(), 'chromium-profile-'));
  try {
    const { stdout } = await exec(
      binary,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        `--user-data-dir=${profile}`,
        `--virtual-time-budget=${budgetMs}`,
        '--dump-dom',
        url,
      ],
      { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 },
    );
    return stdout;
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
}
