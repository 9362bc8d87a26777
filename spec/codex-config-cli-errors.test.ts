// The one-line reasons `memories run` gives for a Codex home it cannot use as is.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

describe('memories run on a Codex home it cannot use', () => {
  it('says in one line that a ChatGPT login cannot be used, without sending or printing its token', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      const tokens = { id_token: 'eyJ.id', access_token: 'eyJ.chatgpt-access', refresh_token: 'rt', account_id: 'a' };
      await writeFile(join(home, 'auth.json'), JSON.stringify({ OPENAI_API_KEY: null, tokens }));
      const { code, stderr } = await memories(['run', '--codex-home', home]);
      expect(code).toBe(2);
      expect(stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^memories: .*auth\.json holds a ChatGPT login.*not sent/),
      ]);
      expect(stderr).not.toContain('chatgpt-access');
    } finally {
      await cleanup();
    }
  });

  it('names an unknown [memories] key and its line', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      await writeFile(
        join(home, 'config.toml'),
        'model = "gpt-5.5"\n\n[memories]\ngenerate_memories = false\nuse_memory = true\n',
      );
      const { code, stderr } = await memories(['run', '--codex-home', home]);
      expect(code).toBe(2);
      expect(stderr.trim()).toBe(`memories: ${join(home, 'config.toml')} line 5: unknown key memories.use_memory`);
    } finally {
      await cleanup();
    }
  });
});
