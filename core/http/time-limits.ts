/**
 * How long a client may take to send one whole request (headers and body) to any of the site's
 * HTTP servers; past it Node answers 408 and closes the connection.
 */
export const HTTP_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Fastify options bounding the time to send a request. Fastify's default turns Node's limit
 * off (`requestTimeout: 0`, no socket timeout), so a client that sent the headers and then a
 * byte of body now and then held a connection, and the body buffered so far, for ever, before
 * anything was checked. The limit must reach `http.createServer` itself: set on the server
 * after it is made, as Fastify's own `requestTimeout` option alone does, Node 20 does not
 * enforce it. Node looks for late requests every `connectionsCheckingInterval`.
 */
export function httpTimeLimits(requestTimeoutMs: number = HTTP_REQUEST_TIMEOUT_MS) {
  if (!Number.isInteger(requestTimeoutMs) || requestTimeoutMs <= 0) throw new RangeError(`requestTimeoutMs must be a positive whole number of ms, got ${requestTimeoutMs}`);
  return {
    requestTimeout: requestTimeoutMs,
    http: {
      requestTimeout: requestTimeoutMs,
      headersTimeout: Math.min(requestTimeoutMs, 60_000),
      connectionsCheckingInterval: Math.max(50, Math.min(1_000, Math.floor(requestTimeoutMs / 4))),
    },
  } as const;
}
