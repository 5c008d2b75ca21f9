import { ConnectionGate, fastifyServerFactory, type ConnectionLimits } from './connection-limits.ts';
import { httpTimeLimits } from './time-limits.ts';

/**
 * The options every site HTTP server is made with: the time to send a request (httpTimeLimits)
 * and the connections held at once (ConnectionGate, across every address it listens on).
 */
export function httpServerOptions(o: { readonly requestTimeoutMs?: number | undefined; readonly connections?: ConnectionLimits | undefined } = {}) {
  const gate = new ConnectionGate(o.connections);
  // A job id is up to 128 characters, and 3 times that percent-encoded: Fastify's default of
  // 100 answered 414 for jobs the site had accepted (GET /jobs/:id of a 101-character id).
  return { ...httpTimeLimits(o.requestTimeoutMs), serverFactory: fastifyServerFactory(gate), routerOptions: { maxParamLength: 512 } };
}
