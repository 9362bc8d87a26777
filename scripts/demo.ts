// `npm run demo`: the whole pipeline on the fixture rollouts, with no API key or network: the "model" is a
// scripted local server, so the memory folder shows the pipeline's formats, not real insight.
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileLogger } from '../services/logger.ts';
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { createModelClient } from '../services/model/model-client.ts';
import { resolveLayout } from '../services/memory-folder/layout.ts';
import { runPipeline } from '../services/pipeline.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';
import { formatSummary } from './commands/run-summary.ts';
import { installFixtureRollouts } from './fixture-corpus.ts';

const codexHome = process.argv[2] ?? (await mkdtemp(join(tmpdir(), 'memories-demo-')));
const rollouts = await installFixtureRollouts(codexHome);
const server = await startLocalOpenAIServer({ handler: scriptedHandler() });
try {
  process.stdout.write(
    `demo: ${rollouts.length} fixture rollouts in ${join(codexHome, 'sessions')}\n` +
      `demo: scripted local model at ${server.url} (not a real LLM)\n`,
  );
  const started = performance.now();
  // The layout the Codex on PATH reads (v1 without one), resolved once for the run and the listing.
  const layout = resolveLayout(codexHome, { version: null });
  const result = await runPipeline({
    codexHome,
    layout,
    model: createModelClient({ apiKey: 'demo', baseURL: server.url, wireApi: 'responses' }),
    log: fileLogger(codexHome),
  });
  const { root } = layout;
  process.stdout.write(formatSummary(result, Math.round(performance.now() - started), codexHome, root));
  // The folder's history (.git) is `memories log`'s to show, not forty object files here.
  const files = (await readdir(root, { recursive: true }))
    .map((f) => relative(root, join(root, f)))
    .filter((f) => f !== '.git' && !f.startsWith(`.git${sep}`))
    .sort();
  process.stdout.write(`memory folder ${root}:\n${files.map((f) => `  ${f}`).join('\n')}\n`);
  if ((result.phase1?.failed ?? 0) > 0 || result.phase2?.status !== 'succeeded') {
    process.stderr.write(`demo: the pipeline did not complete cleanly; see the log under ${join(codexHome, 'log')}\n`);
    process.exitCode = 1;
  }
} finally {
  await server.close();
}
