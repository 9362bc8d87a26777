// A memory folder `memories pull` put in place is the fleet's consolidation: `run`, `watch` and `consolidate` on that
// home refuse in one line (exit 2) instead of consolidating into it, and the pulled revision stays as it was.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { folderDigest } from '../services/fleet/folder-files.ts';
import { tempCodexHome } from './support/codex-home.ts';
import { memories } from './support/cli.ts';
import { fleetApi } from './support/fleet-api.ts';
import { writeRollout } from './reliability/support/harness.ts';

const api = fleetApi();
let made: Awaited<ReturnType<typeof tempCodexHome>>;
const FILES = [
  { path: 'memory_summary.md', content: Buffer.from('# Fleet memory\n\n- the deploy script retries on 503\n') },
  { path: 'rollout_summaries/2026-01-01T00-00-00-abcd-deploy.md', content: Buffer.from('thread: deploy\n') },
];

beforeAll(async () => {
  // Revision 1 of namespace ci, as a worker's consolidation publishes it.
  await api.database.db.pool.query(
    `INSERT INTO memories.memory_revisions (namespace, revision, digest, watermark, worker_id, created_at)
     VALUES ('ci', 1, $1, 1, 'spec', 1)`,
    [folderDigest(FILES)],
  );
  for (const file of FILES) {
    await api.database.db.pool.query(
      `INSERT INTO memories.memory_files (namespace, revision, path, content) VALUES ('ci', 1, $1, $2)`,
      [file.path, file.content],
    );
  }
  made = await tempCodexHome();
  await mkdir(join(made.home, 'sessions'));
  await writeFile(join(made.home, 'config.toml'), '[memories]\nversion = "v2"\n');
  await writeRollout(made.home, { threadId: '0199eeee-0000-7000-8000-000000000001', user: ['a local session'] });
  const pulled = await memories(['pull', ...api.client, '--codex-home', made.home]);
  expect(pulled.stdout).toMatch(/^revision 1: 2 file\(s\)/);
}, 120_000);

afterAll(async () => {
  await made?.cleanup();
});

const REFUSAL = (command: string) =>
  `memories: ${join(made.home, 'memories_v2')} is pulled from fleet namespace ci (revision 1); it is consolidated on ` +
  `the fleet, so \`memories ${command}\` does not write it: \`memories pull\` updates it (\`memories push\` sends this host's sessions)\n`;
const ENDPOINT = ['--base-url', 'http://127.0.0.1:9/v1'];

it.each([
  ['run', ['run', '--idle-minutes', '0', ...ENDPOINT]],
  ['consolidate', ['consolidate', '--now', ...ENDPOINT]],
  ['watch', ['watch', '--idle-minutes', '0', ...ENDPOINT]],
  ['note', ['note', 'the staging database moved']],
])('%s refuses to write a pulled folder, in one line with exit 2', async (command, args) => {
  const result = await memories([...args, '--codex-home', made.home], { OPENAI_API_KEY: 'test', PATH: '/nonexistent' });
  expect(result.code).toBe(2);
  expect(result.stderr).toBe(REFUSAL(command));
  const root = join(made.home, 'memories_v2');
  expect(await readdir(join(root, 'rollout_summaries'))).toEqual(['2026-01-01T00-00-00-abcd-deploy.md']);
  expect(await readFile(join(root, 'memory_summary.md'), 'utf8')).toBe(FILES[0]!.content.toString());
});
