// A Prometheus /metrics endpoint for the long-running processes (`memories watch --metrics-port N`). The
// exporter's own server cannot listen on port 0 and says nothing once it listens; this one does both, so the
// command can print where to scrape and a test can ask for any free port.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';

export interface PrometheusEndpoint {
  reader: PrometheusExporter;
  url: string;
  close(): Promise<void>;
}

export async function startPrometheusEndpoint(host: string, port: number): Promise<PrometheusEndpoint> {
  const { PrometheusExporter } = await import('@opentelemetry/exporter-prometheus');
  const reader = new PrometheusExporter({ preventServerStart: true });
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url?.split('?')[0] === '/metrics') {
      reader.getMetricsRequestHandler(request, response);
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: scrape /metrics\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    reader,
    url: `http://${shown}:${bound}/metrics`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
