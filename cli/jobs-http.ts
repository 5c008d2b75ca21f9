import Fastify, { type FastifyInstance } from 'fastify';
import type { Runtime } from '../core/runtime/runtime.ts';
import type { EventStore } from '../core/store/event-store.ts';
import { DEFAULT_COMMAND_LIMITS, parseBoundedJson, type InputLimits } from '../core/runtime/input-limits.ts';
import { RateLimiter, type RateLimit } from '../core/runtime/rate-limit.ts';
import { explainJob } from './explain.ts';

export interface JobsHttpOptions {
  /** Body size and JSON nesting bounds (default 64 KB, 32 levels). */
  readonly limits?: InputLimits;
  /** Per-client-address token buckets on POST /jobs (default 20 a second, burst 40; false: none). */
  readonly rateLimit?: RateLimit | false;
  /** Milliseconds now, for the rate limit (default the wall clock). */
  readonly now?: () => number;
}

export const DEFAULT_HTTP_RATE_LIMIT: RateLimit = { perSecond: 20, burst: 40 };

/** A refusal as the HTTP client sees it: the same shape as a refused command reply. */
const refusal = (reason: string) => ({ ok: false, error: { reason } });

/**
 * The site's HTTP endpoint for jobs: POST /jobs submits one (the body is a
 * `compute.job.submit` payload), GET /jobs/:id explains it from the ledger. Not listening yet.
 */
export function buildJobsHttp(runtime: Runtime, store: EventStore, o: JobsHttpOptions = {}): FastifyInstance {
  const limits = o.limits ?? DEFAULT_COMMAND_LIMITS;
  const limiter = o.rateLimit === false ? undefined : new RateLimiter(o.rateLimit ?? DEFAULT_HTTP_RATE_LIMIT);
  const now = o.now ?? Date.now;
  const app = Fastify({ logger: false, bodyLimit: limits.maxBytes });
  // Parse with the depth bound: a deeply nested body must be a 400 with the reason, not a stack overflow later.
  app.removeContentTypeParser(['application/json']);
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_req, body, done) => {
    const r = parseBoundedJson(body as Buffer, limits);
    if (r.ok) return done(null, r.value);
    done(Object.assign(new Error(`body refused: ${r.reason}`), { statusCode: r.reason.startsWith('too large') ? 413 : 400 }), undefined);
  });
  app.setErrorHandler((err: { statusCode?: number; message?: string; code?: string }, _req, reply) => {
    const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const reason =
      err.code === 'FST_ERR_CTP_BODY_TOO_LARGE'
        ? `body refused: too large, the limit is ${limits.maxBytes} bytes`
        : err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE'
          ? 'body refused: send application/json'
          : status === 500
            ? 'internal error'
            : String(err.message ?? 'bad request').slice(0, 300);
    return reply.code(status).send(refusal(reason));
  });
  app.post('/jobs', async (req, reply) => {
    const admitted = limiter?.take(req.ip, now()) ?? { ok: true as const };
    if (!admitted.ok) return reply.code(429).header('retry-after', Math.ceil(admitted.retryAfterMs / 1000)).send(refusal(admitted.reason));
    if (req.body === undefined || req.body === null) return reply.code(400).send(refusal('body refused: a compute.job.submit payload (JSON) is required'));
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
  // Fails (503) once a ledger reader has given up: the site would no longer act on the ledger.
  app.get('/health', async (_req, reply) => {
    const h = runtime.health();
    return reply.code(h.ok ? 200 : 503).send(h);
  });
  return app;
}

export async function startJobsHttp(runtime: Runtime, store: EventStore, port: number, host = '127.0.0.1', o: JobsHttpOptions = {}): Promise<FastifyInstance> {
  const app = buildJobsHttp(runtime, store, o);
  await app.listen({ port, host });
  return app;
}
