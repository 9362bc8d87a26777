// The consolidation agent reads prompt-injectable transcripts, so its file tools must never touch
// anything outside the memory root, whatever path or symlink it is handed.
import { createHash } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createMemoryTools, type AgentTool } from '../services/consolidation/agent-tools.ts';
import { resolveInsideRoot, SandboxViolation } from '../services/consolidation/sandbox-path.ts';

let base: string;
let root: string;
let outside: string;
let violations: Array<[string, string, string]>;
let tools: Record<string, AgentTool>;

const run = (tool: string, args: unknown) => tools[tool].execute(args);

/** Names, types, modes, link targets and contents of everything under `dir`. */
async function fingerprint(dir: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = path.join(d, name);
      const info = await lstat(p);
      hash.update(`${path.relative(dir, p)}|${info.mode}|${info.size}\n`);
      if (info.isSymbolicLink()) hash.update(await readlink(p));
      else if (info.isDirectory()) await walk(p);
      else hash.update(await readFile(p));
    }
  };
  await walk(dir);
  return hash.digest('hex');
}

beforeEach(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'agent-tools-'));
  root = path.join(base, 'memories');
  outside = path.join(base, 'outside');
  await mkdir(path.join(root, 'rollout_summaries'), { recursive: true });
  await mkdir(path.join(outside, 'sub'), { recursive: true });
  await writeFile(path.join(outside, 'secret.txt'), 'TOP SECRET\n');
  await writeFile(path.join(outside, 'sub', 'x.md'), 'outside file\n');
  await writeFile(path.join(root, 'MEMORY.md'), '# Memory\n\n- alpha\n- beta\n');
  await symlink(outside, path.join(root, 'escape')); // dir link pointing outside
  await symlink(path.join(outside, 'secret.txt'), path.join(root, 'secret-link.md')); // file link pointing outside
  await symlink(path.join(outside, 'not-yet'), path.join(root, 'dangling')); // would create outside
  violations = [];
  tools = Object.fromEntries(
    createMemoryTools(root, { onViolation: (tool, p, reason) => violations.push([tool, p, reason]) }).map((t) => [t.name, t]),
  );
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('escape attempts are refused and leave the outside untouched', () => {
  const badPaths = [
    '../outside/secret.txt',
    '../x',
    'a/../../x',
    'rollout_summaries/../../outside/secret.txt',
    '/etc/passwd',
    'escape/secret.txt',
    'escape/sub/x.md',
    'escape/new.md',
    'secret-link.md',
    'dangling',
    'dangling/new.md',
    'MEMORY.md\0.txt',
    '..\\outside\\secret.txt',
    '~/secret.txt',
    '',
  ];

  it.each(badPaths)('every tool refuses %j with a readable message', async (bad) => {
    const before = await fingerprint(outside);
    const attempts: Array<[string, unknown]> = [
      ['read_file', { path: bad }],
      ['write_file', { path: bad, content: 'pwned\n' }],
      ['edit_file', { path: bad, old_text: 'TOP', new_text: 'pwned' }],
      ['delete_file', { path: bad }],
      ['apply_patch', { patch: `*** Begin Patch\n*** Update File: ${bad}\n@@\n-TOP SECRET\n+pwned\n*** End Patch` }],
      ['apply_patch', { patch: `*** Begin Patch\n*** Delete File: ${bad}\n*** End Patch` }],
      ['apply_patch', { patch: `*** Begin Patch\n*** Add File: ${bad}\n+pwned\n*** End Patch` }],
    ];
    for (const [tool, args] of attempts) {
      await expect(run(tool, args), `${tool} ${JSON.stringify(args)}`).rejects.toThrow(
        /path escapes the memory root|missing its path/,
      );
    }
    expect(await fingerprint(outside)).toBe(before);
    expect(await readFile(path.join(outside, 'secret.txt'), 'utf8')).toBe('TOP SECRET\n');
  });

  it('refuses listing through an outward symlink or by absolute path', async () => {
    for (const bad of ['escape', 'escape/sub', '../outside', outside, '/']) {
      await expect(run('list_dir', { path: bad })).rejects.toThrow(/path escapes the memory root/);
    }
  });

  it('refuses an absolute path even when it points inside the root', async () => {
    await expect(run('read_file', { path: path.join(root, 'MEMORY.md') })).rejects.toThrow(/absolute paths are not allowed/);
    await expect(run('write_file', { path: path.join(root, 'new.md'), content: 'x' })).rejects.toThrow(/absolute paths/);
  });

  it('reports every refusal to onViolation and names the offending path in the message', async () => {
    const error = await run('read_file', { path: 'escape/secret.txt' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SandboxViolation);
    expect((error as Error).message).toContain('escape/secret.txt');
    expect((error as Error).message).not.toContain('TOP SECRET');
    expect(violations).toEqual([['read_file', 'escape/secret.txt', expect.stringContaining('symlink')]]);
  });

  it('does not create directories outside through a dangling symlink', async () => {
    await expect(run('write_file', { path: 'dangling/deep/file.md', content: 'x' })).rejects.toThrow(/path escapes/);
    await expect(stat(path.join(outside, 'not-yet'))).rejects.toThrow();
  });

  it('refuses deleting the root itself', async () => {
    for (const p of ['.', './', 'rollout_summaries/..']) {
      await expect(run('delete_file', { path: p })).rejects.toThrow(/memory root/);
    }
    expect((await stat(root)).isDirectory()).toBe(true);
  });

  it('resolveInsideRoot accepts a symlink that stays inside for reading, but never writes through it', async () => {
    await symlink(path.join(root, 'MEMORY.md'), path.join(root, 'alias.md'));
    expect(await run('read_file', { path: 'alias.md' })).toContain('- alpha');
    await expect(run('write_file', { path: 'alias.md', content: 'x' })).rejects.toThrow(/writing through a symlink/);
    await expect(resolveInsideRoot(root, 'alias.md', { forWrite: true })).rejects.toBeInstanceOf(SandboxViolation);
  });
});

describe('normal work inside the root', () => {
  it('lists directories with "/" and file sizes, defaulting to the root', async () => {
    const listing = await run('list_dir', {});
    expect(listing.split('\n')).toEqual(
      expect.arrayContaining(['MEMORY.md (25 bytes)', 'rollout_summaries/', 'escape (symlink)']),
    );
    expect(await run('list_dir', { path: 'rollout_summaries' })).toContain('empty directory');
  });

  it('writes new files 0600 in new 0700 directories, atomically replacing old content', async () => {
    expect(await run('write_file', { path: 'skills/deploy/SKILL.md', content: 'héllo\n' })).toBe(
      'wrote 7 bytes to skills/deploy/SKILL.md',
    );
    const file = path.join(root, 'skills', 'deploy', 'SKILL.md');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.join(root, 'skills'))).mode & 0o777).toBe(0o700);
    await run('write_file', { path: 'skills/deploy/SKILL.md', content: 'v2\n' });
    expect(await readFile(file, 'utf8')).toBe('v2\n');
    expect((await readdir(path.dirname(file))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  it('accepts arguments as a JSON string, as function-calling APIs deliver them', async () => {
    await run('write_file', JSON.stringify({ path: 'memory_summary.md', content: '## User profile\n' }));
    expect(await readFile(path.join(root, 'memory_summary.md'), 'utf8')).toBe('## User profile\n');
  });

  it('rejects malformed arguments with a message naming the field', async () => {
    await expect(run('read_file', {})).rejects.toThrow(/invalid arguments for read_file: path/);
    await expect(run('write_file', { path: 'a.md' })).rejects.toThrow(/content/);
  });

  it('reads with offset/limit and says when output was truncated', async () => {
    const body = `${Array.from({ length: 100 }, (_, i) => `line ${i + 1}`).join('\n')}\n`;
    await writeFile(path.join(root, 'raw_memories.md'), body);
    expect(await run('read_file', { path: 'raw_memories.md', offset: 10, limit: 2 })).toMatch(/^line 10\nline 11\n/);
    const small = createMemoryTools(root, { maxReadBytes: 50 }).find((t) => t.name === 'read_file')!;
    const out = await small.execute({ path: 'raw_memories.md' });
    expect(out).toContain('line 1\n');
    expect(out).toMatch(/\[truncated: showed lines 1-\d+ of 100; call read_file with offset=\d+ to continue\]/);
    await expect(run('read_file', { path: 'missing.md' })).rejects.toThrow(/missing\.md/);
  });

  it('edits only an exact, unique match', async () => {
    await run('edit_file', { path: 'MEMORY.md', old_text: '- beta', new_text: '- gamma' });
    expect(await readFile(path.join(root, 'MEMORY.md'), 'utf8')).toBe('# Memory\n\n- alpha\n- gamma\n');
    await expect(run('edit_file', { path: 'MEMORY.md', old_text: 'zeta', new_text: 'x' })).rejects.toThrow(/not found/);
    await expect(run('edit_file', { path: 'MEMORY.md', old_text: '- ', new_text: 'x' })).rejects.toThrow(/occurs 2 times/);
  });

  it('applies a multi-file patch: add, update (with anchor) and delete', async () => {
    await writeFile(path.join(root, 'old.md'), 'stale\n');
    const patch = [
      '*** Begin Patch',
      '*** Add File: skills/git-bisect/SKILL.md',
      '+---',
      '+name: git-bisect',
      '+---',
      '*** Update File: MEMORY.md',
      '@@ # Memory',
      '',
      '-- alpha',
      '+- alpha (confirmed)',
      ' - beta',
      '+- delta',
      '*** Delete File: old.md',
      '*** End Patch',
    ].join('\n');
    expect(await run('apply_patch', { patch })).toBe('wrote skills/git-bisect/SKILL.md\nwrote MEMORY.md\ndeleted old.md');
    expect(await readFile(path.join(root, 'MEMORY.md'), 'utf8')).toBe('# Memory\n\n- alpha (confirmed)\n- beta\n- delta\n');
    expect(await readFile(path.join(root, 'skills/git-bisect/SKILL.md'), 'utf8')).toBe('---\nname: git-bisect\n---\n');
    await expect(stat(path.join(root, 'old.md'))).rejects.toThrow();
  });

  it('writes nothing when any part of a patch does not apply', async () => {
    const patch = [
      '*** Begin Patch',
      '*** Add File: new.md',
      '+hello',
      '*** Update File: MEMORY.md',
      '@@',
      '-- not there',
      '+- replaced',
      '*** End Patch',
    ].join('\n');
    await expect(run('apply_patch', { patch })).rejects.toThrow(/hunk 1: context\/removed lines not found/);
    await expect(stat(path.join(root, 'new.md'))).rejects.toThrow();
    expect(await readFile(path.join(root, 'MEMORY.md'), 'utf8')).toBe('# Memory\n\n- alpha\n- beta\n');
    await expect(run('apply_patch', { patch: 'diff --git a/x b/x' })).rejects.toThrow(/Begin Patch/);
  });

  it('deletes files and empty directories, refusing non-empty ones', async () => {
    await run('write_file', { path: 'skills/a/SKILL.md', content: 'x' });
    await expect(run('delete_file', { path: 'skills/a' })).rejects.toThrow(/not empty/);
    expect(await run('delete_file', { path: 'skills/a/SKILL.md' })).toBe('deleted skills/a/SKILL.md');
    expect(await run('delete_file', { path: 'skills/a' })).toBe('deleted directory skills/a');
    await expect(run('delete_file', { path: 'skills/a' })).rejects.toThrow(/does not exist/);
  });

  it('exposes exactly the six file tools with JSON-schema parameters', () => {
    expect(Object.keys(tools).sort()).toEqual(['apply_patch', 'delete_file', 'edit_file', 'list_dir', 'read_file', 'write_file']);
    expect(tools.read_file.parameters).toMatchObject({ type: 'object', required: ['path'] });
  });
});
