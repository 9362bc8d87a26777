// Runs the bundled scripted OpenAI-compatible server on its own, e.g. for benchmarks or to point
// `memories run --base-url` at. Prints its URL on the first line of stdout.
import { startLocalOpenAIServer } from '../services/local-model/local-openai-server.ts';
import { scriptedHandler } from '../services/local-model/scripted-model.ts';

const latencyMs = Number(process.env.LATENCY_MS ?? 0);
// A batch finishes when it is first asked about, so `run --batch` then `run --batch` again shows a collect.
const server = await startLocalOpenAIServer({
  handler: scriptedHandler(),
  latencyMs,
  recordRequests: false,
  autoCompleteBatches: true,
});
process.stdout.write(`${server.url}\n`);
const stop = () => void server.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
