import { createHash } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { INTAKE_LIMITS, parseIsoDuration, signRequest, type BecknSigningKey, type HttpAnswer } from '../../beckn/index.ts';
import { httpServerOptions, readBoundedResponseText, type ConnectionLimits } from '../../core/http/index.ts';
import type { AckResponse, NackResponse } from '../../schemas/beckn/index.ts';

/**
 * Beckn over HTTP, as plumbing only: a server that hands each POST's exact body bytes to a
 * handler (signatures are over those bytes), and a client that signs and posts a body. What a
 * request means is the agents' business. The grid-operator agent gets these through its
 * `transport` dependency, so the two agents never import each other.
 */

export type AckOrNackBody = AckResponse | NackResponse;

export interface RawRequest {
  readonly action: string;
  readonly body: Buffer;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export type RawHandler = (req: RawRequest) => Promise<HttpAnswer<AckOrNackBody>>;

/** Largest body taken; a bigger one gets 413. */
export const BODY_LIMIT_BYTES = INTAKE_LIMITS.bodyBytes;

/**
 * A request refused before any handler saw it (no such endpoint, body too large): a bounded
 * summary for the audit trail. Never the payload: its size and SHA-256 say enough to match it
 * with the sender's logs, and a refused body may be anything.
 */
export interface RefusedHttp {
  readonly httpStatus: number;
  readonly reason: string;
  readonly method: string;
  /** The URL path (no query), at most 200 characters. */
  readonly urlPath: string;
  /** From the bytes read, or `content-length`; null when neither is known (a chunked body cut off). */
  readonly sizeBytes: number | null;
  /** SHA-256 (hex) of the body, when it was read whole. */
  readonly sha256: string | null;
}

function summary(req: FastifyRequest, httpStatus: number, reason: string, body: Buffer | undefined): RefusedHttp {
  const declared = Number(req.headers['content-length']);
  return {
    httpStatus,
    reason,
    method: req.method.slice(0, 10),
    urlPath: (req.url.split('?')[0] ?? '').slice(0, 200),
    sizeBytes: body ? body.length : Number.isSafeInteger(declared) && declared >= 0 ? declared : null,
    sha256: body ? createHash('sha256').update(body).digest('hex') : null,
  };
}

const nackBody = (code: string, message: string): string => JSON.stringify({ message: { ack: { status: 'NACK' } }, error: { code, message } });

export interface BecknHttpServer {
  readonly port: number;
  /** `http://127.0.0.1:<port>`: where the logical URI really is. */
  readonly origin: string;
  close(): Promise<void>;
}

/** Listen for `POST <prefix>/<action>` (and `POST /<action>`) for the given actions. */
export async function startBecknHttpServer(opts: {
  readonly actions: ReadonlyArray<string>;
  readonly pathPrefix: string;
  readonly handler: RawHandler;
  readonly host?: string;
  readonly port?: number;
  /** Told of each request refused before the handler (404, 413, unreadable body). */
  readonly onRefused?: (r: RefusedHttp) => void;
  /** Time to send a whole request (default `HTTP_REQUEST_TIMEOUT_MS`); then 408 and the connection is closed. */
  readonly requestTimeoutMs?: number;
  /** Connections held at once, in all and per client address (default `CACO_HTTP_CONNECTIONS`, 1,024 and 64). */
  readonly connectionLimits?: ConnectionLimits;
}): Promise<BecknHttpServer> {
  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    ...httpServerOptions({ requestTimeoutMs: opts.requestTimeoutMs, connections: opts.connectionLimits }),
    // A path Fastify cannot route (bad percent-encoding, a part too long) is a NACK and recorded
    // like any refusal: Fastify's own answer echoed the path and left no record.
    frameworkErrors: (err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply => {
      const tooLong = err.code === 'FST_ERR_MAX_PARAM_LENGTH';
      const status = tooLong ? 414 : 400;
      const reason = tooLong ? 'path refused: a part of it is longer than the BPP reads' : 'path refused: it is not a valid URL (bad percent-encoding)';
      opts.onRefused?.(summary(req, status, reason, undefined));
      return reply.code(status).header('content-type', 'application/json').send(nackBody('30000', reason));
    },
  });
  // Keep the bytes: the digest is over the body exactly as sent.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  const prefix = opts.pathPrefix.replace(/\/+$/, '');
  const paths = new Set<string>();
  for (const action of opts.actions) {
    for (const p of new Set([`${prefix}/${action}`, `/${action}`])) {
      paths.add(p);
      app.post(p, async (req, reply) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const answer = await opts.handler({ action, body, headers: req.headers });
        reply.code(answer.statusCode).headers(answer.headers).header('content-type', 'application/json');
        return JSON.stringify(answer.body);
      });
    }
  }
  app.setNotFoundHandler((req, reply) => {
    const s = summary(req, 404, 'no such endpoint', Buffer.isBuffer(req.body) ? req.body : undefined);
    opts.onRefused?.(s);
    reply.code(404).header('content-type', 'application/json');
    return nackBody('30000', `no endpoint ${s.method} ${s.urlPath}; POST one of ${[...paths].slice(0, 3).join(', ')}, …`);
  });
  app.setErrorHandler((err: { statusCode?: number; code?: string; message: string }, req, reply) => {
    const status = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 413 : typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    const reason = status === 413 ? `body larger than ${BODY_LIMIT_BYTES} bytes` : status === 500 ? 'internal error' : `unreadable request: ${err.code ?? err.message}`.slice(0, 200);
    opts.onRefused?.(summary(req, status, reason, undefined));
    reply.code(status).header('content-type', 'application/json');
    return nackBody(status === 500 ? '40000' : '30000', reason);
  });
  const host = opts.host ?? '127.0.0.1';
  await app.listen({ host, port: opts.port ?? 0 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (opts.port ?? 0);
  return { port, origin: `http://${host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host}:${port}`, close: () => app.close() };
}

/** Maps a URI as it appears in Beckn messages to where the request really goes. */
export type UriResolver = (uri: string) => string;

/**
 * Stable logical origins (`http://bpp.caco.local`) → the loopback servers that stand for them.
 * The ledger and the signed bodies carry only the logical URIs, so a seeded run is the same
 * whatever ports the operating system hands out. Unknown origins pass through unchanged.
 */
export class LoopbackResolver {
  private readonly origins = new Map<string, string>();

  register(logicalUri: string, actualOrigin: string): void {
    this.origins.set(new URL(logicalUri).origin, actualOrigin.replace(/\/+$/, ''));
  }

  unregister(logicalUri: string): void {
    this.origins.delete(new URL(logicalUri).origin);
  }

  readonly resolve: UriResolver = (uri) => {
    let u: URL;
    try {
      u = new URL(uri);
    } catch {
      return uri;
    }
    const real = this.origins.get(u.origin);
    return real === undefined ? uri : `${real}${u.pathname}${u.search}`;
  };
}

export interface PostResult {
  /** 0 when no HTTP answer came (connection refused, timeout). */
  readonly httpStatus: number;
  readonly ack: 'ACK' | 'NACK' | null;
  readonly error: { readonly code: string; readonly message?: string; readonly paths?: string } | null;
  readonly problem: string | null;
}

/**
 * Sign `body` (the exact string sent) with `key` at `nowMs` for the message's ttl, and POST it
 * to `<baseUri>/<action>`. Never throws for transport trouble: the result says what happened.
 */
export async function postSigned(input: {
  readonly baseUri: string;
  readonly action: string;
  readonly body: { readonly context: { readonly ttl?: string } };
  readonly key: BecknSigningKey;
  readonly nowMs: number;
  readonly resolve?: UriResolver;
  readonly timeoutMs?: number;
  /** Sent as `Idempotency-Key`: the same on every retry of one message (its message_id). */
  readonly idempotencyKey?: string;
}): Promise<PostResult> {
  const text = JSON.stringify(input.body);
  const ttlSec = Math.max(1, Math.round((parseIsoDuration(input.body.context.ttl ?? 'PT30S') ?? 30_000) / 1000));
  const sig = signRequest(text, input.key, input.nowMs / 1000, ttlSec);
  const url = (input.resolve ?? ((u) => u))(`${input.baseUri.replace(/\/+$/, '')}/${input.action}`);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: sig.authorization, digest: sig.digest, ...(input.idempotencyKey ? { 'idempotency-key': input.idempotencyKey } : {}) },
      body: text,
      signal: AbortSignal.timeout(input.timeoutMs ?? 10_000),
      // Never followed: the address was checked against the receiver's registered origin, and a
      // redirect would send the signed body (and bring back the answer) from anywhere the
      // receiver points us, such as a service on this machine's loopback.
      redirect: 'manual',
    });
    if (res.status >= 300 && res.status < 400) {
      await res.body?.cancel().catch(() => undefined);
      return { httpStatus: res.status, ack: null, error: null, problem: `answered ${res.status}, a redirect: not followed (a message goes only to the receiver's registered address)` };
    }
    const raw = await readBoundedResponseText(res, ANSWER_LIMIT_BYTES);
    if (raw === undefined) return { httpStatus: res.status, ack: null, error: null, problem: `the answer is larger than ${ANSWER_LIMIT_BYTES} bytes; not read` };
    return readAnswer(res.status, raw);
  } catch (err) {
    return { httpStatus: 0, ack: null, error: null, problem: `POST ${url} failed: ${(err as Error).message}` };
  }
}

/** Largest answer read: an ACK or NACK is a few hundred bytes; the other side's answer is bounded as its requests are. */
export const ANSWER_LIMIT_BYTES = INTAKE_LIMITS.bodyBytes;

/** What an ACK/NACK answer says, whichever transport brought it (HTTP, or NATS with its `Beckn-Status`). */
export function readAnswer(httpStatus: number, raw: string): PostResult {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // Its length only: what a receiver (or whatever answered in its place) sent is not copied
    // into the ledger's record of the attempt.
    return { httpStatus, ack: null, error: null, problem: `the answer is not JSON (${raw.length} characters)` };
  }
  const p = parsed as { message?: { ack?: { status?: unknown } }; error?: { code?: unknown; message?: unknown; paths?: unknown } };
  const status = p.message?.ack?.status;
  const ack = status === 'ACK' || status === 'NACK' ? status : null;
  const error =
    p.error && typeof p.error.code === 'string'
      ? { code: p.error.code, ...(typeof p.error.message === 'string' ? { message: p.error.message } : {}), ...(typeof p.error.paths === 'string' ? { paths: p.error.paths } : {}) }
      : null;
  return { httpStatus, ack, error, problem: ack === null ? 'the answer is neither ACK nor NACK' : null };
}

/**
 * The HTTP adapter for a Beckn participant in a simulation or a test: servers on loopback
 * ports, requests signed and posted through the resolver, logical URIs announced to it.
 * Structurally the grid-operator agent's `BecknTransport`.
 */
export function loopbackTransport(resolver: LoopbackResolver, host = '127.0.0.1') {
  return {
    listen: (o: { readonly actions: ReadonlyArray<string>; readonly pathPrefix: string; readonly handler: RawHandler }) => startBecknHttpServer({ ...o, host }),
    post: (o: Omit<Parameters<typeof postSigned>[0], 'resolve'>) => postSigned({ ...o, resolve: resolver.resolve }),
    announce: (logicalUri: string, origin: string) => resolver.register(logicalUri, origin),
    withdraw: (logicalUri: string) => resolver.unregister(logicalUri),
  };
}
