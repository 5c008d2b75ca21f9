import Fastify, { type FastifyInstance } from 'fastify';
import type { Runtime } from '../core/runtime/runtime.ts';
import type { EventStore } from '../core/store/event-store.ts';
import { explainJob } from './explain.ts';

/**
 * The site's HTTP endpoint for jobs: POST /jobs submits one (the body is a
 * `compute.job.submit` payload), GET /jobs/:id explains it from the ledger.
 */
export async function startJobsHttp(runtime: Runtime, store: EventStore, port: number, host = '127.0.0.1'): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 1_000_000 });
  app.post('/jobs', async (req, reply) => {
    const res = await runtime.send('compute', 'submit', req.body, { source: 'http' });
    if (!res.ok) return reply.code(400).send(res);
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
