import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { frameworkErrorRefusal, guardLoopbackHost, httpRefusal, httpServerOptions, jobIdParamRefusal, notFoundRefusal } from '../core/http/index.ts';
import type { Runtime } from '../core/runtime/index.ts';
import type { VerifiedEventStore } from '../core/store/index.ts';
import { DEFAULT_COMMAND_LIMITS, parseBoundedJson, truncateText, type InputLimits } from '../core/runtime/index.ts';
import { RateLimiter, type RateLimit } from '../core/runtime/index.ts';
import { explainJob, explanationStatus } from '../projections/explain/index.ts';
import type { CacoMetrics } from '../core/observability/index.ts';
import { registerObservabilityRoutes } from '../core/observability/index.ts';
import { ATTR, SpanKind, contextFromHeaders, endSpan, startSpan } from '../core/observability/index.ts';
import { decodeWith, JobRejected } from '../schemas/index.ts';
import { ENVELOPE_ID } from '../core/envelope/index.ts';

export interface JobsHttpOptions {
  /** Body size and JSON nesting bounds (default 64 KB, 32 levels). */
  readonly limits?: InputLimits;
  /** Per-client-address token buckets on POST /jobs (default 20 a second, burst 40; false: none). */
  readonly rateLimit?: RateLimit | false;
  /** Milliseconds now, for the rate limit (default the wall clock). */
  readonly now?: () => number;
  /** Served at GET /metrics when given. */
  readonly metrics?: CacoMetrics;
  /** Time to send a whole request (default `HTTP_REQUEST_TIMEOUT_MS`); then 408 and the connection is closed. */
  readonly requestTimeoutMs?: number;
}

export const DEFAULT_HTTP_RATE_LIMIT: RateLimit = { perSecond: 20, burst: 40 };

/**
 * A value from outside, named for a refusal: a string quoted and cut to 64 characters, anything
 * else by its JSON type. Never String(x): an object whose toString is not a function throws there.
 */
function describeValue(v: unknown): string {
  if (typeof v === 'string') return `"${truncateText(v, 64)}"`;
  if (v === null) return 'null';
  return Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * HTTP status for a command the runtime refused: 401 without a signature, 403 with one that
 * is not good enough (or good for another site, or no longer), 429 past the sending key's
 * rate limit or its party's command budget (`rate-limited`, with Retry-After from the reply's
 * `retryAfterMs`), 503 when the agent's backlog is full (`busy`, with Retry-After), 422 refused by
 * the agent without a record, 400 for the rest (schema, a binding the site requires and the
 * command lacks).
 */
export function httpStatusOfRefusal(code: string | undefined): number {
  if (code === 'unsigned') return 401;
  if (code === 'unknown-key' || code === 'revoked-key' || code === 'bad-signature' || code === 'source-mismatch' || code === 'wrong-site' || code === 'expired') return 403;
  if (code === 'rate-limited') return 429;
  // Shed unread: the agent's backlog was full (a flood); the same request later is taken.
  if (code === 'busy') return 503;
  // Refused by the agent, like a recorded rejection, but past the sender's rate of recorded ones.
  if (code === 'refused') return 422;
  return 400;
}

/**
 * The site's HTTP endpoint for jobs: POST /jobs submits one, GET /jobs/:id explains it from
 * the ledger. Not listening yet. The body of POST /jobs is the same signed
 * `compute.job.submit` command envelope a client sends on NATS (docs/identity.md): one signed
 * form for both transports, and no shared secret (API token) to issue, store or leak. It is
 * passed on to the compute agent as received, so its runtime checks the signature (and counts
 * the key's rate) exactly as for a NATS request.
 */
export function buildJobsHttp(runtime: Runtime, store: VerifiedEventStore, o: JobsHttpOptions = {}): FastifyInstance {
  const limits = o.limits ?? DEFAULT_COMMAND_LIMITS;
  // Per address, on submissions and explanations alike: HTTP requests, whatever they carry.
  const limiter = o.rateLimit === false ? undefined : new RateLimiter(o.rateLimit ?? DEFAULT_HTTP_RATE_LIMIT, 'requests');
  const now = o.now ?? Date.now;
  const app = Fastify({
    logger: false,
    bodyLimit: limits.maxBytes,
    ...httpServerOptions({ requestTimeoutMs: o.requestTimeoutMs }),
    // A path the router cannot take is answered in the site's refusal shape, as every other
    // refusal is, not Fastify's own body (which echoes the path back).
    frameworkErrors: frameworkErrorRefusal,
  });
  app.setNotFoundHandler(notFoundRefusal('POST /jobs, GET /jobs/:id, GET /health and GET /metrics'));
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
    return reply.code(status).send(httpRefusal(reason));
  });
  // One per-address bucket for submissions and explanations (an explanation reads the job's
  // stream and scans the forecasts and orders it may cite: nobody may keep the site scanning).
  const perAddress = async (req: FastifyRequest, reply: FastifyReply) => {
    const admitted = limiter?.take(req.ip, now(), `address "${req.ip.slice(0, 64)}"`) ?? { ok: true as const };
    if (!admitted.ok) return reply.code(429).header('retry-after', Math.ceil(admitted.retryAfterMs / 1000)).send(httpRefusal(admitted.reason));
  };
  // onRequest: counted before the body is read and parsed (up to 64 KB), not after.
  app.post('/jobs', { onRequest: perAddress }, async (req, reply) => {
    const body = req.body as Record<string, unknown> | null | undefined;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return reply.code(400).send(httpRefusal('body refused: a signed compute.job.submit command envelope (a JSON object) is required'));
    if (typeof body['keyId'] !== 'string' || typeof body['sig'] !== 'string') {
      return reply.code(401).send({
        ok: false,
        error: { code: 'unsigned', reason: 'unsigned: POST /jobs takes a compute.job.submit command envelope signed by a registered key (keyId, sig); see docs/identity.md, or use `caco submit --key`' },
      });
    }
    if (body['type'] !== 'compute.job.submit') {
      return reply.code(400).send(httpRefusal(`type: POST /jobs takes "compute.job.submit", not ${describeValue(body['type'])}`));
    }
    // The correlation id is the sender's word, not yet checked: on the span only as an envelope id may be (1 to 128 printable ASCII).
    const correlationId = typeof body['correlationId'] === 'string' && ENVELOPE_ID.test(body['correlationId']) ? body['correlationId'] : undefined;
    const span = startSpan('http POST /jobs', contextFromHeaders(req.headers), { 'http.request.method': 'POST', 'http.route': '/jobs', ...(correlationId !== undefined ? { [ATTR.correlationId]: correlationId } : {}) }, SpanKind.SERVER);
    const res = await runtime.sendEnvelope('compute', 'submit', body, { ...(span ? { trace: span.ctx } : {}) }).finally(() => endSpan(span));
    if (!res.ok) {
      if (res.error.code === 'busy') reply.header('retry-after', 1);
      const wait = res.error.retryAfterMs;
      // Whole seconds, rounded up: a client that waits what it is told is taken.
      if (res.error.code === 'rate-limited' && typeof wait === 'number' && Number.isFinite(wait) && wait > 0) reply.header('retry-after', Math.ceil(wait / 1000));
      return reply.code(httpStatusOfRefusal(res.error.code)).send(res);
    }
    const rejected = res.events.find((e) => e.type === JobRejected.type);
    if (rejected) {
      // The reply crossed the bus as JSON: its payload is read through the schema, not trusted.
      const d = decodeWith(JobRejected.data, rejected.data);
      return reply.code(422).send({ ok: false, rejected: true, problems: d.ok ? d.value.problems : null, event: rejected });
    }
    return reply.code(202).send(res);
  });
  app.get<{ Params: { id: string } }>('/jobs/:id', { preHandler: perAddress }, async (req, reply) => {
    const bad = jobIdParamRefusal(req.params.id);
    if (bad) return reply.code(400).send(bad);
    const x = await explainJob(store, req.params.id);
    return reply.code(explanationStatus(x)).send(x);
  });
  registerObservabilityRoutes(app, { ...(o.metrics ? { metrics: o.metrics } : {}), health: () => runtime.health() });
  return app;
}

export async function startJobsHttp(runtime: Runtime, store: VerifiedEventStore, port: number, host = '127.0.0.1', o: JobsHttpOptions = {}): Promise<FastifyInstance> {
  const app = buildJobsHttp(runtime, store, o);
  guardLoopbackHost(app, host);
  await app.listen({ port, host });
  return app;
}
