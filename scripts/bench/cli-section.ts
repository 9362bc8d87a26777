// §8: the CLI as a person meets it. Start-up: `memories --help` and `memories status` on an empty home beside
// `node -e 0`, interleaved run by run so a drifting VM affects all three alike, medians compared. Install: the
// packed tarball installed with its production dependencies into an empty project, and the size on disk.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { optionalPeers } from '../../services/optional-module.ts';
import { REPO_ROOT } from './corpus.ts';
import { mb, ms, table, verdict } from './markdown.ts';
import { runSectionAlone } from './alone.ts';

const exec = promisify(execFile);
const RUNS = 10;
const INSTALL_LIMIT_MB = 60;
const BIN = join(REPO_ROOT, 'scripts', 'memories.js');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed(args: string[]): Promise<number> {
  const start = performance.now();
  await exec(process.execPath, args, { env: { ...process.env, OTEL_SDK_DISABLED: 'true' } });
  return performance.now() - start;
}

async function startUp(home: string) {
  const runs = { node: [] as number[], help: [] as number[], status: [] as number[] };
  for (let i = 0; i < RUNS; i++) {
    runs.node.push(await timed(['-e', '0']));
    runs.help.push(await timed([BIN, '--help']));
    runs.status.push(await timed([BIN, 'status', '--codex-home', home]));
  }
  return { node: median(runs.node), help: median(runs.help), status: median(runs.status) };
}

async function installSize(tmp: string) {
  const project = join(tmp, 'consumer');
  await mkdir(project, { recursive: true });
  execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'ignore' });
  const { stdout } = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', project], { cwd: REPO_ROOT });
  const [packed] = JSON.parse(stdout) as { filename: string; size: number; unpackedSize: number }[];
  await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'host', private: true }));
  const start = performance.now();
  await exec('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--prefer-offline', `./${packed!.filename}`], {
    cwd: project,
    maxBuffer: 16 << 20,
  });
  const installMs = performance.now() - start;
  const modules = join(project, 'node_modules');
  const size = (path: string) => Number(execFileSync('du', ['-sb', path], { encoding: 'utf8' }).split('\t')[0]);
  const bytes = size(modules);
  const packages = (await readdir(modules)).length;
  // better-sqlite3 compiles its native module when no prebuilt binary can be downloaded: its build/ folder says which.
  const sqliteBuild = existsSync(join(modules, 'better-sqlite3', 'build')) ? size(join(modules, 'better-sqlite3', 'build')) : 0;
  // The optional peers a production install must leave out.
  const optional = optionalPeers().filter((name) => existsSync(join(modules, name)));
  const largest = execFileSync('sh', ['-c', `du -sb ${modules}/* ${modules}/@*/* 2>/dev/null | sort -rn | head -10`], {
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .map((line) => {
      const [size, path] = line.split('\t');
      return `${path!.slice(modules.length + 1)} ${mb(Number(size))}`;
    });
  return { tarball: packed!.size, bytes, packages, installMs, largest, sqliteBuild, optional };
}

export async function cliSection(log: (message: string) => void, tmp: string) {
  const home = await mkdtemp(join(tmpdir(), 'memories-bench-empty-'));
  log('CLI start-up: --help and status beside node -e 0');
  const start = await startUp(home);
  await rm(home, { recursive: true, force: true });
  log('install: the packed tarball with its production dependencies');
  const install = await installSize(tmp);
  const within = (t: number) => t <= 2 * start.node;
  const section = [
    `## 8. CLI start-up and install size (scripts/bench/cli-section.ts)`,
    '',
    `Start-up: medians of ${RUNS} runs, interleaved (node, --help, status; status on an empty Codex home). Install: ` +
      '`npm pack`, then `npm install --omit=dev --prefer-offline` of the tarball into an empty project (npm cache warm; ' +
      'better-sqlite3 compiles its native module there), size of node_modules on disk.',
    '',
    table('node -e 0 | memories --help | memories status (empty home) | target', [
      [ms(start.node), ms(start.help), ms(start.status), `≤ 2 × node = ${ms(2 * start.node)}`],
    ]),
    '',
    table('Tarball | Installed node_modules | Top-level packages | Install time | Optional peers installed', [
      [mb(install.tarball), mb(install.bytes), install.packages, ms(install.installMs), install.optional.join(', ') || 'none'],
    ]),
    '',
    `Largest: ${install.largest.join(', ')}. better-sqlite3's build/ (its native module compiled here, where no ` +
      `prebuilt binary can be downloaded): ${mb(install.sqliteBuild)}.`,
  ].join('\n');
  const summary = [
    ['memories --help start-up', '≤ 2 × node -e 0', `${ms(start.help)} (node ${ms(start.node)})`, verdict(within(start.help))],
    [
      'memories status start-up (empty home)',
      '≤ 2 × node -e 0',
      `${ms(start.status)} (node ${ms(start.node)})`,
      verdict(within(start.status)),
    ],
    [
      'Production install of the tarball',
      `≤ ${INSTALL_LIMIT_MB} MB`,
      mb(install.bytes),
      verdict(install.bytes <= INSTALL_LIMIT_MB * 1024 * 1024),
    ],
  ];
  return { section, summary };
}

// Alone: `tsx scripts/bench/cli-section.ts` prints the section and its summary rows.
await runSectionAlone(import.meta.url, 'cli', cliSection);
