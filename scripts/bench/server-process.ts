// The bundled scripted server in its own process, so the pipeline's numbers exclude the server's work.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export async function startServerProcess(latencyMs = 0) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', 'local-model-server.ts')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, LATENCY_MS: String(latencyMs) },
  });
  const url = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: url.trim(),
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function withServer<T>(latencyMs: number, fn: (url: string) => Promise<T>): Promise<T> {
  const server = await startServerProcess(latencyMs);
  try {
    return await fn(server.url);
  } finally {
    await server.stop();
  }
}
