// The package as another project gets it: `npm pack`, unpacked into an empty project's node_modules beside
// only the production dependencies (a runtime import of a dev dependency would fail here), then the README's
// embedding example run with plain `node` and type-checked with `tsc` (module NodeNext, strict, checkJs). The optional
// peers are left out, as a consumer's npm leaves them: a feature that needs one says what to install.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { optionalPeers } from '../services/optional-module.ts';
import { installFixtureRollouts } from '../scripts/fixture-corpus.ts';
import { tempCodexHome } from './support/codex-home.ts';

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
const HEADING = '## Embedding as a library';
const DEV = (JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> })
  .devDependencies;

/** The first ```js block between the embedding heading and the next `## ` heading. */
function embeddingExample(readme: string): string {
  const start = readme.indexOf(`\n${HEADING}\n`);
  if (start < 0) throw new Error(`README.md has no "${HEADING}" section`);
  const section = readme.slice(start + HEADING.length + 2);
  const end = section.search(/^## /m);
  const block = /^```js\n([\s\S]*?)^```$/m.exec(end < 0 ? section : section.slice(0, end));
  if (!block) throw new Error(`the "${HEADING}" section has no js code block`);
  return block[1]!;
}

/** The top-level packages of the production dependency tree, as npm resolved it in this checkout (it lists an
 * optional peer that a production package names as its own, such as openai's ws, because it is installed here). */
async function productionPackages(): Promise<string[]> {
  const { stdout } = await exec('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: ROOT, maxBuffer: 16 << 20 });
  const names = new Set<string>();
  for (const path of stdout.split('\n')) {
    const [top, scoped] = relative(join(ROOT, 'node_modules'), path).split(sep);
    if (!top || top.startsWith('..')) continue;
    names.add(top.startsWith('@') ? `${top}/${scoped}` : top);
  }
  return [...names];
}

let project: string;
let files: string[];
let production: string[];
let server: Awaited<ReturnType<typeof startLocalOpenAIServer>>;

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'memories-consumer-'));
  server = await startLocalOpenAIServer({ handler: scriptedHandler() });
  // dist/ is fresh (the global set-up builds it), so packing needs no second build.
  const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], { cwd: ROOT });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  files = packed!.files.map((f) => f.path);
  const modules = join(project, 'node_modules');
  await mkdir(join(modules, 'memories-pipeline'), { recursive: true });
  await exec('tar', ['-xzf', join(project, packed!.filename), '-C', join(modules, 'memories-pipeline'), '--strip-components=1']);
  production = await productionPackages();
  // What a consumer's npm installs: our optional peers are left out.
  const installed = production.filter((name) => !optionalPeers().includes(name));
  for (const name of new Set([...installed, '@types/node'])) {
    await mkdir(join(modules, name, '..'), { recursive: true });
    await symlink(join(ROOT, 'node_modules', name), join(modules, name));
  }
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'host', private: true, type: 'module' }));
}, 120_000);
afterAll(async () => {
  await server?.close();
  await rm(project, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships the compiled code, its declarations and the templates, and no sources, specs or benchmarks', () => {
    expect(files).toEqual(
      expect.arrayContaining(['dist/index.js', 'dist/index.d.ts', 'dist/scripts/cli.js', 'scripts/memories.js']),
    );
    expect(files.some((f) => /^templates\/.+\.md$/.test(f))).toBe(true);
    const stray = files.filter((f) => /^(spec|bench|\.ci)\//.test(f) || (/\.ts$/.test(f) && !f.endsWith('.d.ts')));
    expect(stray).toEqual([]);
  });

  it("runs the README's embedding example with plain node, on the production dependencies alone", async () => {
    await writeFile(join(project, 'example.mjs'), embeddingExample(await readFile(join(ROOT, 'README.md'), 'utf8')));
    const { home, cleanup } = await tempCodexHome();
    try {
      await installFixtureRollouts(home);
      const before = server.requests.length;
      const { stdout } = await exec(process.execPath, ['example.mjs'], {
        cwd: project,
        env: { ...process.env, CODEX_HOME: home, MEMORIES_BASE_URL: server.url, OPENAI_API_KEY: '', OPENAI_BASE_URL: '' },
        timeout: 60_000,
      });
      const calls = server.requests.length - before;
      expect(calls).toBeGreaterThan(5);
      expect(stdout.split('\n').filter((l) => /^succeeded(NoOutput)? [0-9a-f-]{36}$/.test(l))).toHaveLength(5);
      expect(stdout).toMatch(new RegExp(`^extracted \\d+ memories; consolidation succeeded; ${calls} model calls$`, 'm'));
      expect((await stat(join(home, 'memories', 'MEMORY.md'))).size).toBeGreaterThan(0);
    } finally {
      await cleanup();
    }
  });

  it('type-checks the example under module NodeNext and strict, and refuses a model client missing a method', async () => {
    await writeFile(join(project, 'example.mjs'), embeddingExample(await readFile(join(ROOT, 'README.md'), 'utf8')));
    await writeFile(
      join(project, 'misuse.mjs'),
      "/** @type {import('memories-pipeline').ModelClient} */\nexport const model = { extractStage1: () => Promise.reject(new Error('offline')) };\n",
    );
    const compilerOptions = { module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', strict: true };
    const check = async (file: string) => {
      const options = { ...compilerOptions, allowJs: true, checkJs: true, noEmit: true, types: ['node'] };
      await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: options, files: [file] }));
      return exec(process.execPath, [TSC, '-p', project]).then(
        () => '',
        (e: { stdout: string }) => e.stdout,
      );
    };
    expect(await check('example.mjs')).toBe('');
    expect(await check('misuse.mjs')).toMatch(/misuse\.mjs.*error TS\d+:.*agentTurn/s);
  });
});

describe('the optional packages', () => {
  const cli = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    exec(process.execPath, [join(project, 'node_modules', 'memories-pipeline', 'scripts', 'memories.js'), ...args], {
      cwd: project,
      env: { ...process.env, OPENAI_API_KEY: '', OPENAI_BASE_URL: '', ...env },
      timeout: 60_000,
    }).then(
      ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );

  it('are not in the production tree: no OpenTelemetry SDK, gRPC, inspector, PostgreSQL, fastify or mermaid', () => {
    const heavy = ['@opentelemetry/sdk-trace', '@opentelemetry/resources', '@grpc/grpc-js', 'protobufjs', '@types/node'];
    const fleet = ['pg', 'fastify', '@statelyai/inspect', 'superjson', 'mermaid'];
    expect(production.filter((name) => [...heavy, ...fleet].includes(name))).toEqual([]);
  });

  it('when absent, make a command that needs them say so in one line with the npm command, exit 2', async () => {
    const { home, cleanup } = await tempCodexHome();
    try {
      const offline = ['--codex-home', home, '--base-url', 'http://127.0.0.1:1/v1'];
      const otel = { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1' };
      const [serve, events, exported, plain] = await Promise.all([
        cli(['serve', '--store', 'postgres://memories@127.0.0.1:1/memories', '--port', '0']),
        cli(['run', ...offline, '--events', join(project, 'events.jsonl')]),
        cli(['run', ...offline], otel),
        cli(['run', ...offline]),
      ]);
      expect(serve).toEqual({
        code: 2,
        stdout: '',
        stderr: `memories: \`memories serve\` needs optional packages that are not installed: npm install pg@${DEV.pg} fastify@${DEV.fastify}\n`,
      });
      expect(events).toMatchObject({ code: 2, stdout: '' });
      expect(events.stderr).toBe(
        `memories: the inspector (run --inspect, --events) needs optional packages that are not installed: npm install @statelyai/inspect@${DEV['@statelyai/inspect']} ws@${DEV.ws}\n`,
      );
      expect(exported).toMatchObject({ code: 2, stdout: '' });
      expect(exported.stderr).toMatch(/^memories: OpenTelemetry export .* npm install @opentelemetry\/resources@\S+ .*\n$/);
      expect(exported.stderr.split('\n')).toHaveLength(2);
      // Nothing asked for an optional feature: the run works without them.
      expect(plain.code).toBe(0);
    } finally {
      await cleanup();
    }
  });
});
