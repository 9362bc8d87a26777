// The fleet's HTTP API on fastify: ingest, memory and status, each under /v1/namespaces/:namespace and each behind a
// bearer token scoped to namespaces. A bad request gets a 4xx and a one-line reason before anything is written.
// Plain HTTP: TLS is terminated in front of it (README, "Fleet memory").
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { BadInputError, RetryableError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import type { LayoutVersion } from '../memory-folder/layout.ts';
import type { PgDatabase } from '../store/postgres/connection.ts';
import { tokenNamespaces } from './access-tokens.ts';
import { namespaceStatus, rolloutStatuses } from './fleet-status.ts';
import { checkManifest, hasRollout, ingestRollout } from './ingest.ts';
import { latestRevision } from './memory-revisions.ts';
import { namespaceHome, namespaceLayout, namespaceRefusal } from './namespaces.ts';

export interface FleetServerOptions {
  db: PgDatabase;
  /** Where ingested rollouts are copied for this process's worker. */
  workDir: string;
  log: Logger;
  /** Largest rollout accepted, in bytes (default 64 MiB). */
  maxRolloutBytes?: number;
}

/** Largest JSON body (a status query for thousands of hashes fits). */
const JSON_LIMIT = 1024 * 1024;
const MAX_STATUS_HASHES = 10_000;
const SHA256 = /^[0-9a-f]{64}$/;

type NamespaceRequest = FastifyRequest<{ Params: { namespace: string; sha256?: string } }>;

/** A 4xx with a one-line reason. */
class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

const oneLine = (text: string) => text.replace(/\s+/g, ' ').trim().slice(0, 300);

export function createFleetServer(options: FleetServerOptions): FastifyInstance {
  const { db } = options;
  const app = Fastify({ bodyLimit: JSON_LIMIT, logger: false, return503OnClosing: true });
  const maxRolloutBytes = options.maxRolloutBytes ?? 64 * 1024 * 1024;
  app.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit: maxRolloutBytes }, (_req, body, done) =>
    done(null, body),
  );

  app.setErrorHandler((error: FastifyError | Error, request, reply) => {
    const status = statusOf(error);
    if (status >= 500) options.log.error({ err: error.message, url: request.url }, 'fleet API error');
    if (error instanceof RetryableError) reply.header('retry-after', '5');
    const message = status >= 500 && !(error instanceof RetryableError) ? 'internal error' : oneLine(error.message);
    // Also as a header: the answer to a HEAD request has no body to carry it.
    void reply
      .code(status)
      .header('x-memories-error', message.replace(/[^\x20-\x7e]/g, '?'))
      .send({ error: message });
  });
  app.setNotFoundHandler((request, reply) => void reply.code(404).send({ error: `no route ${request.method} ${request.url}` }));

  app.get('/healthz', async () => ({ ok: true }));

  // Every namespace route: a valid namespace and a token that covers it, checked before a byte of the body is read.
  app.register(async (scoped) => {
    scoped.addHook('onRequest', async (request: NamespaceRequest) => {
      const { namespace, sha256 } = request.params;
      const refused = namespaceRefusal(namespace);
      if (refused) throw new HttpError(400, refused);
      if (sha256 !== undefined && !SHA256.test(sha256))
        throw new HttpError(400, 'the URL sha256 must be 64 lowercase hex digits');
      const header = request.headers.authorization ?? '';
      const token = /^Bearer (\S+)$/.exec(header)?.[1];
      if (!token) throw new HttpError(401, 'missing bearer token (Authorization: Bearer <token>)');
      const allowed = await tokenNamespaces(db, token);
      if (!allowed) throw new HttpError(401, 'unknown or revoked token');
      if (!allowed.includes(namespace)) throw new HttpError(403, `this token is not valid for namespace ${namespace}`);
      if ((await namespaceLayout(db, namespace)) === null) throw new HttpError(404, `no namespace ${namespace}`);
    });
    registerRoutes(scoped, options, maxRolloutBytes);
  });
  return app;
}

function registerRoutes(app: FastifyInstance, options: FleetServerOptions, maxRolloutBytes: number): void {
  const { db } = options;
  const base = '/v1/namespaces/:namespace';

  app.head(`${base}/rollouts/:sha256`, async (request: NamespaceRequest, reply: FastifyReply) => {
    const { namespace, sha256 } = request.params;
    void reply.code((await hasRollout(db, namespace, sha256!)) ? 200 : 404).send();
  });

  app.put(`${base}/rollouts/:sha256`, { bodyLimit: maxRolloutBytes }, async (request: NamespaceRequest, reply: FastifyReply) => {
    const { namespace, sha256 } = request.params;
    if (!Buffer.isBuffer(request.body)) throw new HttpError(415, 'send the rollout as Content-Type: application/octet-stream');
    const header = request.headers['x-memories-manifest'];
    if (typeof header !== 'string') throw new HttpError(400, 'missing X-Memories-Manifest header (the manifest as JSON)');
    let raw: unknown;
    try {
      raw = JSON.parse(header);
    } catch {
      throw new HttpError(400, 'X-Memories-Manifest is not JSON');
    }
    const manifest = checkManifest(raw, namespace);
    if (manifest.sha256 !== sha256) throw new HttpError(400, 'the manifest sha256 differs from the URL');
    const result = await ingestRollout(db, manifest, request.body, namespaceHome(options.workDir, namespace));
    void reply.code(result.stored ? 201 : 200).send(result);
  });

  app.post(
    `${base}/rollouts/status`,
    {
      schema: {
        body: {
          type: 'object',
          required: ['sha256'],
          additionalProperties: false,
          properties: {
            sha256: { type: 'array', maxItems: MAX_STATUS_HASHES, items: { type: 'string', pattern: '^[0-9a-f]{64}$' } },
          },
        },
      },
    },
    async (request: FastifyRequest<{ Params: { namespace: string }; Body: { sha256: string[] } }>) =>
      rolloutStatuses(db, request.params.namespace, request.body.sha256),
  );

  app.get(`${base}/status`, async (request: NamespaceRequest) => {
    const { namespace } = request.params;
    return { ...(await namespaceStatus(db, namespace)), layout: await namespaceLayout(db, namespace) };
  });

  app.get(
    `${base}/memory`,
    async (request: FastifyRequest<{ Params: { namespace: string }; Querystring: { known?: string } }>) => {
      const { namespace } = request.params;
      const layout = (await namespaceLayout(db, namespace)) as LayoutVersion;
      const head = await latestRevision(db, namespace);
      if (!head) return { namespace, layout, revision: 0, digest: null, createdAt: null, files: [] };
      if (request.query.known === head.digest) return { namespace, layout, ...head, unchanged: true };
      const full = await latestRevision(db, namespace, true);
      if (!full) throw new RetryableError('the revision changed while it was read');
      const files = full.files.map((file) => ({ path: file.path, content: file.content.toString('base64') }));
      return { namespace, layout, revision: full.revision, digest: full.digest, createdAt: full.createdAt, files };
    },
  );
}

function statusOf(error: Error): number {
  if (error instanceof HttpError) return error.statusCode;
  if (error instanceof BadInputError) return 400;
  if (error instanceof RetryableError) return 503;
  const code = (error as FastifyError).statusCode;
  return typeof code === 'number' && code >= 400 && code < 600 ? code : 500;
}
