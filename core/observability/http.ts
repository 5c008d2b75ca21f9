import Fastify, { type FastifyInstance } from 'fastify';
import { guardLoopbackHost, httpServerOptions } from '../http/index.ts';
import type { CacoMetrics } from './metrics.ts';
import type { RuntimeHealth } from './health.ts';

export interface ObservabilityRoutes {
  readonly metrics?: CacoMetrics;
  /** The runtime's health (Runtime.health). */
  readonly health?: () => Promise<RuntimeHealth>;
  /** Time to send a whole request, for the server of {@link startObservabilityHttp} (default `HTTP_REQUEST_TIMEOUT_MS`). */
  readonly requestTimeoutMs?: number;
}

/**
 * GET /metrics: Prometheus text from the site's own registry. GET /health: 200 with the
 * subscriptions while every ledger subscription and the relay are alive, 503 with `reasons`
 * as soon as one has died (a load balancer or Kubernetes probe then restarts or drains us).
 */
export function registerObservabilityRoutes(app: FastifyInstance, o: ObservabilityRoutes): void {
  if (o.metrics) {
    const metrics = o.metrics;
    app.get('/metrics', async (_req, reply) => {
      const { contentType, body } = await metrics.scrape();
      return reply.code(200).header('content-type', contentType).send(body);
    });
  }
  app.get('/health', async (_req, reply) => {
    if (!o.health) return reply.code(200).send({ ok: true });
    let h: RuntimeHealth;
    try {
      h = await o.health();
    } catch (err) {
      // The store could not even say where its head is: that is unhealthy too.
      return reply.code(503).send({ ok: false, reasons: [`health check failed: ${err instanceof Error ? err.message : String(err)}`] });
    }
    return reply.code(h.ok ? 200 : 503).send(h);
  });
}

/** A server with only /metrics and /health, for a process whose other endpoints are elsewhere (caco bpp). */
export async function startObservabilityHttp(port: number, host: string, o: ObservabilityRoutes): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, ...httpServerOptions({ requestTimeoutMs: o.requestTimeoutMs }) });
  // As the jobs API's /metrics and /health: a loopback-bound server answers loopback names only.
  guardLoopbackHost(app, host);
  registerObservabilityRoutes(app, o);
  await app.listen({ port, host });
  return app;
}
