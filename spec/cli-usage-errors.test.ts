// Every bad argument is one line on stderr and exit status 2 (issue 14, "Uneven errors"): bad and degenerate
// option values, an unknown option or command, a missing argument, a Codex home that does not exist, a
// config.toml the TOML parser rejects, and an output path that cannot be written.
import { existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memories, spawnMemories } from './support/cli.ts';
import { tempCodexHome } from './support/codex-home.ts';

// Nothing listens here: no case reaches the model or the fleet service.
const OFFLINE = ['--base-url', 'http://127.0.0.1:1/v1'];
const FLEET = ['--server', 'http://127.0.0.1:1', '--namespace', 'ci', '--token', 'not-a-token'];

let home: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ home, cleanup } = await tempCodexHome());
});
afterAll(() => cleanup());

/** Runs every case at once; the result names each case, so a failure shows which one. */
async function outcomes(cases: string[][]) {
  return Promise.all(
    cases.map(async (args) => {
      const { code, stderr } = await memories(args);
      return { args: args.join(' '), code, stderr: stderr.trimEnd().split('\n') };
    }),
  );
}

const refused = (args: string[], line: string | RegExp) => ({
  args: args.join(' '),
  code: 2,
  stderr: [typeof line === 'string' ? `memories: ${line}` : expect.stringMatching(line)],
});

describe('memories usage errors', () => {
  it('refuses a bad or degenerate option value in one line naming the option and what it takes', async () => {
    const invalid = (option: string, value: string, takes: string) =>
      `option '${option} <n>' argument '${value}' is invalid. ${option} takes ${takes}`;
    const cases: [string[], string][] = [
      [['run', '--concurrency', 'abc'], invalid('--concurrency', 'abc', 'a whole number ≥ 1')],
      [['run', '--concurrency', '0'], invalid('--concurrency', '0', 'a whole number ≥ 1')],
      [['run', '--max-turns', '0'], invalid('--max-turns', '0', 'a whole number ≥ 1')],
      [['run', '--max-rollouts', '1.5'], invalid('--max-rollouts', '1.5', 'a whole number ≥ 1')],
      [['watch', '--max-rollouts', '1.5'], invalid('--max-rollouts', '1.5', 'a whole number ≥ 1')],
      [['run', '--idle-minutes', 'soon'], invalid('--idle-minutes', 'soon', 'a number of minutes ≥ 0 (fractions allowed)')],
      [['watch', '--idle-minutes', 'soon'], invalid('--idle-minutes', 'soon', 'a number of minutes ≥ 0 (fractions allowed)')],
      [['worker', '--concurrency', '0'], invalid('--concurrency', '0', 'a whole number ≥ 1')],
      [['serve', '--port', '0', '--concurrency', '0'], invalid('--concurrency', '0', 'a whole number ≥ 1')],
      [['worker', '--max-turns', '0'], invalid('--max-turns', '0', 'a whole number ≥ 1')],
      [
        ['push', ...FLEET, '--idle-minutes', 'soon'],
        invalid('--idle-minutes', 'soon', 'a number of minutes ≥ 0 (fractions allowed)'),
      ],
    ];
    expect(await outcomes(cases.map(([args]) => args))).toEqual(cases.map(([args, line]) => refused(args, line)));
  });

  it('refuses an unknown option, an unknown command and a missing argument in one line', async () => {
    const cases: [string[], string][] = [
      [['run', '--frobnicate'], "unknown option '--frobnicate'"],
      [['frobnicate'], "unknown command 'frobnicate'"],
      [['forget'], "missing required argument 'thread-id'"],
      [['run', '--codex-home'], "option '--codex-home <dir>' argument missing"],
    ];
    expect(await outcomes(cases.map(([args]) => args))).toEqual(cases.map(([args, line]) => refused(args, line)));
  });

  it('prints its version with --version', async () => {
    const { code, stdout } = await memories(['--version']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
  });

  it('refuses a --codex-home that does not exist, without creating it', async () => {
    const missing = join(home, 'typo');
    const line = `--codex-home ${missing} does not exist (a typo? \`memories run --init\` creates a new one)`;
    const commands = [
      ['run', ...OFFLINE],
      ['watch', ...OFFLINE],
      ['status'],
      ['read-path'],
      ['log'],
      ['push', ...FLEET],
      ['pull', ...FLEET],
    ];
    const cases = commands.map((args) => [...args, '--codex-home', missing]);
    expect(await outcomes(cases)).toEqual(cases.map((args) => refused(args, line)));
    await expect(stat(missing)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('creates a Codex home that does not exist when run is given --init', async () => {
    const fresh = join(home, 'fresh', 'codex');
    const { code } = await memories(['run', '--init', '--codex-home', fresh, '--phase', '1', ...OFFLINE]);
    expect(code).toBe(0);
    expect((await stat(fresh)).isDirectory()).toBe(true);
  });

  it('creates a Codex home that does not exist when pull is given --init', async () => {
    const fresh = join(home, 'fresh', 'runner');
    const { code, stderr } = await memories(['pull', ...FLEET, '--init', '--codex-home', fresh]);
    // Port 1 is one Node's fetch refuses: the reason is said, not undici's bare "fetch failed".
    expect({ code, stderr }).toEqual({ code: 1, stderr: 'memories: cannot reach the server at http://127.0.0.1:1: bad port\n' });
    expect((await stat(fresh)).isDirectory()).toBe(true);
  });

  it("keeps the line and column of the TOML parser's error in config.toml", async () => {
    const { home: bad, cleanup: remove } = await tempCodexHome();
    try {
      await writeFile(join(bad, 'config.toml'), 'model = "gpt-5.5"\n\n[memories]\ngenerate_memories = tru\n');
      const line = `${join(bad, 'config.toml')} line 4, column 21: not valid TOML: invalid value`;
      const cases = [['status'], ['run', ...OFFLINE]].map((args) => [...args, '--codex-home', bad]);
      expect(await outcomes(cases)).toEqual(cases.map((args) => refused(args, line)));
    } finally {
      await remove();
    }
  });

  it('refuses an output path it cannot write in one line', async () => {
    const cases: [string[], string][] = [
      [['machines', '--html', '/missing/dir/x.html'], '--html /missing/dir/x.html: cannot write it (no directory /missing/dir)'],
      [
        ['run', '--codex-home', home, ...OFFLINE, '--events', '/missing/x.jsonl'],
        '--events /missing/x.jsonl: cannot write it (no directory /missing)',
      ],
    ];
    expect(await outcomes(cases.map(([args]) => args))).toEqual(cases.map(([args, line]) => refused(args, line)));
  });

  it('refuses a note file it cannot read in one line, and writes no note', async () => {
    const cases: [string[], string][] = [
      [['note', '--codex-home', home, '--file', '/missing/note.md'], '--file /missing/note.md: cannot read it (no such file)'],
      [['note', '--codex-home', home, '--file', home], `--file ${home}: cannot read it (it is a directory)`],
    ];
    expect(await outcomes(cases.map(([args]) => args))).toEqual(cases.map(([args, line]) => refused(args, line)));
    await expect(stat(join(home, 'memories', 'extensions', 'ad_hoc'))).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('says in one line, exit 1, that a note could not be written, and marks nothing due', async () => {
    const { home: own, cleanup: remove } = await tempCodexHome();
    try {
      // Where the notes folder should be, a file: the write fails as on a read-only or full disk.
      await mkdir(join(own, 'memories', 'extensions'), { recursive: true });
      await writeFile(join(own, 'memories', 'extensions', 'ad_hoc'), 'not a folder\n');
      const { code, stdout, stderr } = await memories(['note', '--codex-home', own, 'The API listens on port 8443']);
      expect({ code, stdout }).toEqual({ code: 1, stdout: '' });
      const folder = join(own, 'memories', 'extensions', 'ad_hoc');
      expect(stderr.startsWith(`memories: the note was not saved in ${folder}: E`)).toBe(true);
      expect(stderr).toMatch(/^[^\n]*: E[A-Z]+: [^\n]*\n$/);
      expect(existsSync(join(own, 'memories_state', 'jobs.json'))).toBe(false);
    } finally {
      await remove();
    }
  });

  it('refuses a fleet token for no namespace, which every request would be refused with', async () => {
    const args = ['token', 'create', '--store', 'postgres://u@127.0.0.1:1/x'];
    expect(await outcomes([args])).toEqual([refused(args, '--namespace is required: name each namespace the token may use')]);
  });

  it('accepts a fractional --idle-minutes in push as in run and watch', async () => {
    const { code, stderr } = await memories(['push', ...FLEET, '--codex-home', home, '--idle-minutes', '0.5']);
    expect({ code, stderr }).toEqual({
      code: 0,
      stderr: 'pushed 0, already stored 0, of 0 idle eligible rollout(s) (0 found)\n',
    });
  });

  it('accepts a fractional --idle-minutes in run and in watch alike', async () => {
    const watch = spawnMemories(['watch', '--codex-home', home, ...OFFLINE, '--idle-minutes', '0.5']);
    try {
      const [run, ready] = await Promise.all([
        memories(['run', '--codex-home', home, ...OFFLINE, '--phase', '1', '--idle-minutes', '0.5']),
        watch.line(/^watching /),
      ]);
      expect(run.code).toBe(0);
      expect(ready).toMatch(/extracted once idle for 30 s$/);
    } finally {
      watch.child.kill('SIGTERM');
      await watch.exited;
    }
  });
});
