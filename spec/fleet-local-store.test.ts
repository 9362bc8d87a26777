// `memories run`, `watch` and `status` on the PostgreSQL store (`--store postgres://…`) instead of lowdb: a database of
// this file's own, the fixture rollouts, the bundled scripted model. pg is imported only for such a run.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultNamespace } from '../scripts/commands/store-option.ts';
import { ensureNamespace } from '../services/fleet/namespaces.ts';
import { memories, spawnMemories } from './support/cli.ts';
import { LATEST_SCHEMA_VERSION, migrate } from '../services/store/postgres/migrations.ts';
import { fleetTestBed } from './support/fleet-bed.ts';
import { createTestDatabase } from './support/postgres.ts';

const bed = fleetTestBed();
const home = () => bed.home({ rollouts: true });

const offline = () => ['--base-url', bed.model.url];
const env = { OPENAI_API_KEY: 'test', MEMORIES_STORE: '' };
const run = (codexHome: string, ...args: string[]) =>
  memories(['run', '--codex-home', codexHome, ...offline(), '--json', ...args], env);

const jobs = async (namespace: string) =>
  (
    await bed.database.db.pool.query<{ kind: string; status: string; n: number }>(
      'SELECT kind, status, count(*)::int AS n FROM memories.jobs WHERE namespace = $1 GROUP BY 1, 2 ORDER BY 1, 2',
      [namespace],
    )
  ).rows;

describe('run --store postgres://…', () => {
  it('extracts each rollout once, consolidates, and a second run claims nothing', async () => {
    const codexHome = await home();
    const first = await run(codexHome, '--store', bed.database.url);
    expect(first.code, first.stderr).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ claimed: 5, succeeded: 5, failed: 0, phase2: { status: 'succeeded' } });

    const namespace = defaultNamespace(codexHome, { version: 'v2' });
    expect(await jobs(namespace)).toEqual([
      { kind: 'memory_consolidate_global', status: 'done', n: 1 },
      { kind: 'memory_stage1', status: 'done', n: 5 },
    ]);

    const second = await run(codexHome, '--store', bed.database.url);
    expect(second.code, second.stderr).toBe(0);
    expect(JSON.parse(second.stdout)).toMatchObject({ claimed: 0, skipped: 5, skippedBy: { upToDate: 5 } });

    const status = await memories(['status', '--codex-home', codexHome, '--store', bed.database.url, '--json'], env);
    expect(status.code, status.stderr).toBe(0);
    const report = JSON.parse(status.stdout);
    expect(report.store).toBe(`${bed.database.url} (namespace ${namespace})`);
    expect(report.stage1).toMatchObject({ total: 5, byState: { done: 5 } });
    expect(report.consolidation).toMatchObject({ status: 'done', dirty: false, lastSelected: 5 });
  });

  it('takes the store from MEMORIES_STORE, and a second home on the database keeps to a namespace of its own', async () => {
    const codexHome = await home();
    // The same fixture rollouts (same thread ids) as the first home: its own namespace extracts them again.
    const result = await memories(['run', '--codex-home', codexHome, ...offline(), '--phase', '1', '--json'], {
      ...env,
      MEMORIES_STORE: bed.database.url,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ claimed: 5, succeeded: 5 });
    // Phase 1 alone leaves the consolidation it made due for the next run.
    expect(await jobs(defaultNamespace(codexHome, { version: 'v2' }))).toEqual([
      { kind: 'memory_consolidate_global', status: 'pending', n: 1 },
      { kind: 'memory_stage1', status: 'done', n: 5 },
    ]);
  });

  it('refuses a namespace of the fleet, which serve and worker consolidate', async () => {
    await ensureNamespace(bed.database.db, 'ci', 'v2');
    const result = await run(await home(), '--store', bed.database.url, '--namespace', 'ci');
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^memories: namespace ci belongs to the fleet/)]);
    expect(await jobs('ci')).toEqual([]);
  });

  it('says in one line what is wrong with a store it cannot use: exit 2 for a usage error, 1 for a database it cannot reach', async () => {
    const codexHome = await home();
    const cases: Array<[string[], number, RegExp]> = [
      [['--store', 'mysql://db/memories'], 2, /^memories: --store must be a postgres:\/\/ URL, not mysql:\/\/db\/memories$/],
      [['--store', 'postgres://u:secret@db:port/x'], 2, /^memories: --store is not a URL; it takes postgres:\/\/user@host\/db$/],
      [['--namespace', 'team'], 2, /^memories: --namespace needs --store postgres:\/\/… \(or MEMORIES_STORE\)$/],
      [['--store', bed.database.url, '--namespace', 'Team A'], 2, /^memories: --namespace: namespace "Team A" is not /],
      [
        ['--store', bed.database.url, '--batch'],
        2,
        /^memories: --batch needs the lowdb store: the PostgreSQL store .* does not record batches$/,
      ],
      [
        ['--store', 'postgres://u:secret@127.0.0.1:1/x'],
        1,
        /^memories: cannot use the store at postgres:\/\/u@127\.0\.0\.1:1\/x: .*ECONNREFUSED/,
      ],
    ];
    const results = await Promise.all(cases.map(([args]) => run(codexHome, ...args)));
    for (const [i, [args, code, line]] of cases.entries()) {
      expect(results[i].code, args.join(' ')).toBe(code);
      expect(results[i].stderr.trim().split('\n'), args.join(' ')).toEqual([expect.stringMatching(line)]);
      expect(results[i].stderr).not.toContain('secret');
    }
  });

  it('fails serve, worker and token create the same way on a database it cannot reach: one line, exit 1', async () => {
    const down = 'postgres://u:secret@127.0.0.1:1/x';
    const work = await mkdtemp(join(tmpdir(), 'fleet-down-'));
    bed.cleanup(() => rm(work, { recursive: true, force: true }));
    const commands = [
      ['serve', '--store', down, '--port', '0', '--work-dir', work],
      ['worker', '--store', down, '--work-dir', work],
      ['token', 'create', '--store', down, '--namespace', 'ci'],
    ];
    const results = await Promise.all(commands.map((args) => memories(args, env)));
    for (const [i, args] of commands.entries()) {
      expect(results[i].code, args.join(' ')).toBe(1);
      expect(results[i].stderr.trim().split('\n'), args.join(' ')).toEqual([
        expect.stringMatching(/^memories: cannot use the store at postgres:\/\/u@127\.0\.0\.1:1\/x: .*ECONNREFUSED/),
      ]);
    }
  });

  it('never loads pg for a lowdb run; without pg installed, --store names the package to install', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'no-pg-'));
    bed.cleanup(() => rm(dir, { recursive: true, force: true }));
    // A resolve hook that answers every import of pg as npm does when the package is absent.
    await writeFile(
      join(dir, 'hook.mjs'),
      `export async function resolve(specifier, context, next) {
        if (specifier === 'pg' || specifier.startsWith('pg/')) {
          const error = new Error(\`Cannot find package '\${specifier}' imported from \${context.parentURL}\`);
          error.code = 'ERR_MODULE_NOT_FOUND';
          throw error;
        }
        return next(specifier, context);
      }\n`,
    );
    await writeFile(
      join(dir, 'register.mjs'),
      "import { register } from 'node:module';\nregister('./hook.mjs', import.meta.url);\n",
    );
    const withoutPg = { ...env, NODE_OPTIONS: `--import=${join(dir, 'register.mjs')}` };
    const codexHome = await home();

    const lowdb = await memories(['run', '--codex-home', codexHome, ...offline(), '--json'], withoutPg);
    expect(lowdb.code, lowdb.stderr).toBe(0);
    expect(JSON.parse(lowdb.stdout)).toMatchObject({ claimed: 5, succeeded: 5 });

    const postgres = await memories(['run', '--codex-home', codexHome, ...offline(), '--store', bed.database.url], withoutPg);
    expect(postgres.code).toBe(2);
    expect(postgres.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/needs an optional package that is not installed: npm install pg@/),
    ]);
  });
});

describe('forget, note, consolidate and revert with --store postgres://…', () => {
  it('act on the PostgreSQL store the runs use, not on the lowdb store of the home', async () => {
    const codexHome = await home();
    const namespace = 'desk';
    const store = ['--store', bed.database.url, '--namespace', namespace];
    const first = await run(codexHome, ...store);
    expect(first.code, first.stderr).toBe(0);
    const outputs = async () =>
      (
        await bed.database.db.pool.query<{ thread_id: string }>(
          'SELECT thread_id FROM memories.stage1_outputs WHERE namespace = $1 ORDER BY 1',
          [namespace],
        )
      ).rows.map((row) => row.thread_id);
    const globalStatus = async () => (await jobs(namespace)).find((j) => j.kind === 'memory_consolidate_global')?.status;
    const [forgotten, ...kept] = await outputs();
    expect(kept).toHaveLength(4);
    expect(await globalStatus()).toBe('done');

    const forget = await memories(['forget', forgotten, '--codex-home', codexHome, ...store, '--json'], env);
    expect(forget.code, forget.stderr).toBe(0);
    expect(await outputs()).toEqual(kept);
    expect(await globalStatus()).toBe('pending');
    // The home's own lowdb store never had it: forgetting there says so.
    const lowdb = await memories(['forget', kept[0], '--codex-home', codexHome], env);
    expect(lowdb.code).toBe(1);
    expect(lowdb.stderr).toMatch(/no stage-1 output for thread/);

    const consolidate = await memories(['consolidate', '--codex-home', codexHome, ...offline(), ...store, '--json'], env);
    expect(consolidate.code, consolidate.stderr).toBe(0);
    expect(JSON.parse(consolidate.stdout)).toMatchObject({ status: 'succeeded' });
    expect(await globalStatus()).toBe('done');

    const note = await memories(['note', 'The staging database moved to db-stage-7', '--codex-home', codexHome, ...store], env);
    expect(note.code, note.stderr).toBe(0);
    expect(await globalStatus()).toBe('pending');

    // A consolidation holding the lease in PostgreSQL is the one revert waits for.
    await bed.database.db.pool.query(
      `UPDATE memories.jobs SET status = 'running', lease_until = extract(epoch FROM now())::bigint + 600
        WHERE namespace = $1 AND kind = 'memory_consolidate_global'`,
      [namespace],
    );
    const revert = await memories(['revert', 'HEAD', '--codex-home', codexHome, ...store], env);
    expect(revert.code).toBe(1);
    expect(revert.stderr.trim()).toBe('memories: a consolidation is running on this memory folder; revert when it has finished');
  });
});

describe('doctor --store postgres://…', () => {
  it('checks the database and the namespace the runs would use, changing nothing, and names one it cannot reach', async () => {
    const codexHome = await home();
    const doctor = async (...args: string[]) => {
      const result = await memories(['doctor', '--codex-home', codexHome, ...offline(), '--json', ...args], env);
      const report = JSON.parse(result.stdout) as { checks: Array<{ name: string; status: string; message: string }> };
      return { code: result.code, store: report.checks.find((c) => c.name === 'store')! };
    };
    const store = ['--store', bed.database.url, '--namespace', 'checked'];
    const before = await doctor(...store);
    expect(before.store).toEqual({
      name: 'store',
      status: 'ok',
      message: `${bed.database.url} (namespace checked): 0 stage-1 jobs (0 failed), 0 outputs`,
    });
    expect(await jobs('checked')).toEqual([]);

    expect((await run(codexHome, '--phase', '1', ...store)).code).toBe(0);
    const after = await doctor(...store);
    expect(after.code).toBe(0);
    expect(after.store.message).toBe(`${bed.database.url} (namespace checked): 5 stage-1 jobs (0 failed), 5 outputs`);

    await ensureNamespace(bed.database.db, 'fleet-ns', 'v2');
    const fleet = await doctor('--store', bed.database.url, '--namespace', 'fleet-ns');
    expect(fleet).toMatchObject({
      code: 1,
      store: { status: 'fail', message: expect.stringMatching(/^namespace fleet-ns belongs to the fleet/) },
    });

    // A database without our schema, then with one older and one newer than this memories: the doctor says which,
    // and migrates nothing.
    const empty = await createTestDatabase({ migrated: false });
    bed.cleanup(() => empty.drop());
    const schema = async () =>
      (await empty.db.pool.query<{ present: boolean }>("SELECT to_regclass('memories.schema_migrations') IS NOT NULL AS present"))
        .rows[0].present;
    expect((await doctor('--store', empty.url)).store.message).toMatch(/: no schema yet; the first run creates it$/);
    expect(await schema()).toBe(false);
    await migrate(empty.db);
    await empty.db.pool.query('DELETE FROM memories.schema_migrations WHERE version = $1', [LATEST_SCHEMA_VERSION]);
    expect((await doctor('--store', empty.url)).store).toMatchObject({
      status: 'ok',
      message: expect.stringMatching(
        new RegExp(`: schema version ${LATEST_SCHEMA_VERSION - 1}; the next run brings it to ${LATEST_SCHEMA_VERSION}$`),
      ),
    });
    await empty.db.pool.query("INSERT INTO memories.schema_migrations (version, name) VALUES (999, 'from the future')");
    expect(await doctor('--store', empty.url)).toMatchObject({
      code: 1,
      store: {
        status: 'fail',
        message: expect.stringMatching(/schema version 999 is newer than this memories .*upgrade memories$/),
      },
    });

    const down = await doctor('--store', 'postgres://u:secret@127.0.0.1:1/x');
    expect(down.code).toBe(1);
    expect(down.store.status).toBe('fail');
    expect(down.store.message).toMatch(/^cannot use the store at postgres:\/\/u@127\.0\.0\.1:1\/x: .*ECONNREFUSED/);
    expect(down.store.message).not.toContain('secret');
  });
});

describe('watch --store postgres://…', () => {
  it('extracts and consolidates the idle rollouts into the named namespace, and stops on SIGTERM', async () => {
    const codexHome = await home();
    const watch = spawnMemories(
      [
        'watch',
        '--codex-home',
        codexHome,
        ...offline(),
        '--idle-minutes',
        '0',
        '--store',
        bed.database.url,
        '--namespace',
        'laptop',
      ],
      env,
    );
    try {
      const line = await watch.line(/^run 1 \(startup catch-up\): /);
      expect(line).toMatch(/phase 1 claimed 5 of 5 eligible: 5 with output/);
      expect(line).toMatch(/phase 2 succeeded/);
    } finally {
      watch.child.kill('SIGTERM');
      await watch.exited;
    }
    expect(watch.stdout()).toMatch(/stopped after 1 run\(s\)/);
    expect(await jobs('laptop')).toEqual([
      { kind: 'memory_consolidate_global', status: 'done', n: 1 },
      { kind: 'memory_stage1', status: 'done', n: 5 },
    ]);
  });
});
