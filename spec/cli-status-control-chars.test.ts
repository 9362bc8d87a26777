// `memories status` never lets a stored string drive the terminal: control characters (ANSI
// escapes, a bell, bidi overrides) in any value are shown escaped; --json keeps the exact text.
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';

let home: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ home, cleanup } = await tempCodexHome());
});
afterEach(() => cleanup());

it('shows control characters from a stored error escaped, and --json keeps them exact', async () => {
  const hostile = 'bad \u001b]0;owned\u0007\u001b[2J\u001b[31mred\u202eevil';
  const server = await startLocalOpenAIServer({
    handler: () => ({ status: 400, body: { error: { message: hostile, type: 'invalid_request_error' } } }),
  });
  try {
    await installFixtureRollouts(home);
    await memories(['run', '--codex-home', home, '--base-url', server.url, '--phase', '1', '--max-rollouts', '1']);
  } finally {
    await server.close();
  }
  const { code, stdout } = await memories(['status', '--codex-home', home]);
  expect(code).toBe(0);
  expect(stdout).toMatch(/error 1/);
  expect(stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  expect(stdout).toContain('bad \\u{1b}]0;owned\\u{7}\\u{1b}[2J\\u{1b}[31mred\\u{202e}evil');

  const json = JSON.parse((await memories(['status', '--codex-home', home, '--json'])).stdout);
  expect(json.stage1.jobs[0].lastError).toContain(hostile);
});
