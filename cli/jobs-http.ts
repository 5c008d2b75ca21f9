import Fastify, { type FastifyInstance } from 'fastify';
import type { Runtime } from '../core/runtime/runtime.ts';
import type { EventStore } from '../core/store/event-store.ts';
import { explainJob } from './explain.ts';

/** HTTP status for a refused command: 401 without a signature, 403 with one that is not good enough. */
function statusOf(code: string | undefined): number {
  if (code === 'unsigned') return 401;
  if (code === 'unknown-key' || code === 'revoked-key' || code === 'bad-signature' || code === 'source-mismatch') return 403;
  return 400;
}

/**
 * The site's HTTP endpoint for jobs: POST /jobs submits one, GET /jobs/:id explains it from
 * the ledger. The body of POST /jobs is the same signed `compute.job.submit` command envelope
 * a client sends on NATS (docs/identity.md): one signed form for both transports, and no
 * shared secret (API token) to issue, store or leak. It is passed on to the compute agent
 * as received, so its runtime checks the signature exactly as for a NATS request.
 */
export async function startJobsHttp(runtime: Runtime, store: EventStore, port: number, host = '127.0.0.1'): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1_000_000 });
  app.post('/jobs', async (req, reply) => {
    const body = req.body as Record<string, unknown> | null;
    if (typeof body !== 'object' || body === null || Array.isArray(body) || typeof body['keyId'] !== 'string' || typeof body['sig'] !== 'string') {
      return reply.code(401).send({
        ok: false,
        error: { code: 'unsigned', reason: 'unsigned: POST /jobs takes a compute.job.submit command envelope signed by a registered key (keyId, sig); see docs/identity.md, or use `caco submit --key`' },
      });
    }
    if (body['type'] !== 'compute.job.submit') {
      return reply.code(400).send({ ok: false, error: { reason: `type: POST /jobs takes "compute.job.submit", not "${String(body['type']).slice(0, 64)}"` } });
    }
    const res = await runtime.sendEnvelope('compute', 'submit', body);
    if (!res.ok) return reply.code(statusOf(res.error.code)).send(res);
    const rejected = res.events.find((e) => e.type === 'compute.job.rejected');
    if (rejected) return reply.code(422).send({ ok: false, rejected: true, problems: (rejected.data as { problems: unknown }).problems, event: rejected });
    return reply.code(202).send(res);
  });
  app.get<{ Params: { id: string } }>('/jobs/:id', async (req, reply) => {
    const x = await explainJob(store, req.params.id);
    return reply.code(x.found ? 200 : 404).send(x);
  });
  app.get('/health', async () => ({ ok: true }));
  await app.listen({ port, host });
  return app;
}
