import { createHash } from 'node:crypto';
import type { Bus, BusMessage, Subscription } from '../../core/bus/index.ts';
import { NoRespondersError, TimeoutError } from '../../core/errors/index.ts';
import { BECKN_STATUS_HEADER, INTAKE_LIMITS, parseIsoDuration, signRequest, subjectFor, subjectOfNatsUri, type BecknSigningKey } from '../../beckn/index.ts';
import { readAnswer, type PostResult, type RawHandler, type RefusedHttp } from './beckn-http.ts';

/**
 * Beckn over NATS, as plumbing only (docs/beckn.md "Beckn over NATS"): a responder that hands
 * each request's exact payload and headers to the same handler the HTTP server calls (so every
 * check — size, signature, schema, signer, callback address, ttl, replay, backlog — is the one
 * intake path), and a client that signs a body exactly as for HTTP and sends it as a NATS
 * request, reading the ACK/NACK reply. It runs on the site's `Bus` port; the binding needs a
 * NATS bus to reach anyone outside the process.
 */

export interface BecknNatsServer {
  /** The subjects listened on (`<prefix>.*`). */
  readonly subject: string;
  /** `nats:<prefix>`: the address this server stands for. */
  readonly origin: string;
  close(): Promise<void>;
}

const DEFAULT_MAX_PENDING = 1000;
const DEFAULT_MAX_PENDING_BYTES = 64 * 1024 * 1024;

const nackBody = (code: string, message: string): string => JSON.stringify({ message: { ack: { status: 'NACK' } }, error: { code, message } });
const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');

/**
 * Take `<prefix>.<action>` for the given actions (one token after the prefix; a BAP's
 * callback subjects, one token deeper, are never caught). The reply is the ACK/NACK body with
 * `Beckn-Status` (the HTTP status the same answer has) and the answer's headers.
 */
export async function startBecknNatsServer(opts: {
  readonly bus: Bus;
  /** Subject prefix, e.g. `beckn.deg_compute-flexibility`. */
  readonly prefix: string;
  readonly actions: ReadonlyArray<string>;
  readonly handler: RawHandler;
  /** Instances of one participant share the work (one answer per request). */
  readonly queue?: string;
  /** Told of each request refused before the handler (no such action, too large, no reply subject). */
  readonly onRefused?: (r: RefusedHttp) => void;
  /**
   * On a subject several participants share: whether this request is addressed to us at all.
   * One that is not is left alone (no answer, no record), as an HTTP request to another host never arrives.
   */
  readonly addressedHere?: (body: Uint8Array) => boolean;
  /** Requests handled at once (a key lookup may wait on a registry); past it the subscription waits. Default 64. */
  readonly maxInFlight?: number;
  /**
   * Requests that may wait while `maxInFlight` are handled (default 1,000), and their bytes
   * (default 64 MiB): past either, a request is answered 503 at once and recorded, not kept.
   * Unbounded, a flood waited in the NATS client's memory for as long as it lasted.
   */
  readonly maxPending?: number;
  readonly maxPendingBytes?: number;
}): Promise<BecknNatsServer> {
  if (subjectOfNatsUri(`nats:${opts.prefix}`) === undefined) throw new RangeError(`"${opts.prefix}" is not a subject prefix`);
  const subject = `${opts.prefix}.*`;
  const refuse = async (msg: BusMessage, status: number, reason: string, read: boolean): Promise<void> => {
    opts.onRefused?.({
      httpStatus: status,
      reason,
      method: 'NATS',
      urlPath: msg.subject.slice(0, 200),
      sizeBytes: msg.data.length,
      sha256: read ? createHash('sha256').update(msg.data).digest('hex') : null,
    });
    if (msg.reply) await opts.bus.respond(msg, enc(nackBody('30000', reason)), { headers: { [BECKN_STATUS_HEADER]: String(status) } });
  };
  const handle = async (msg: BusMessage): Promise<void> => {
    const action = msg.subject.slice(opts.prefix.length + 1);
    // A Beckn request is answered; a plain publish cannot be, and is not taken.
    if (!msg.reply) return refuse(msg, 400, 'a Beckn request over NATS must be a request (with a reply subject)', false);
    if (!opts.actions.includes(action)) return refuse(msg, 404, `no action "${action.slice(0, 64)}" here; send one of ${opts.actions.join(', ')}`, true);
    if (msg.data.length > INTAKE_LIMITS.bodyBytes) return refuse(msg, 413, `body larger than ${INTAKE_LIMITS.bodyBytes} bytes`, false);
    if (opts.addressedHere && !opts.addressedHere(msg.data)) return;
    let status = 500;
    let text: string;
    let headers: Record<string, string> = {};
    try {
      const answer = await opts.handler({ action, body: Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength), headers: msg.headers });
      status = answer.statusCode;
      headers = { ...answer.headers };
      text = JSON.stringify(answer.body);
    } catch {
      text = nackBody('40000', 'internal error');
    }
    await opts.bus.respond(msg, enc(text), { headers: { ...headers, [BECKN_STATUS_HEADER]: String(status) } });
  };
  // Concurrent as the HTTP server is: one slow signature lookup must not hold up every BAP.
  const inFlight = new Set<Promise<void>>();
  const max = opts.maxInFlight ?? 64;
  const sub: Subscription = await opts.bus.subscribe(
    subject,
    async (msg) => {
      const p: Promise<void> = handle(msg)
        .catch(() => undefined)
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= max) await Promise.race(inFlight);
    },
    {
      ...(opts.queue ? { queue: opts.queue } : {}),
      maxPending: opts.maxPending ?? DEFAULT_MAX_PENDING,
      maxPendingBytes: opts.maxPendingBytes ?? DEFAULT_MAX_PENDING_BYTES,
      // Quick and never throwing, as onShed must be: another BPP's request on a shared subject is left alone.
      onShed: (msg) => {
        if (opts.addressedHere && !opts.addressedHere(msg.data)) return;
        refuse(msg, 503, 'the BPP is busy: too many requests are waiting; try again shortly', false).catch(() => undefined);
      },
    },
  );
  return {
    subject,
    origin: `nats:${opts.prefix}`,
    close: async () => {
      await sub.unsubscribe();
      await Promise.all([...inFlight]);
    },
  };
}

/**
 * Sign `body` as for HTTP (same `Authorization` and `Digest`, over the same bytes) and send it
 * as a NATS request to `<baseUri's subject>.<action>`. Never throws for transport trouble:
 * no responder, a timeout or a broken reply is `httpStatus: 0` (the sender retries).
 */
export async function requestSigned(input: {
  readonly bus: Pick<Bus, 'request'>;
  readonly baseUri: string;
  readonly action: string;
  readonly body: { readonly context: { readonly ttl?: string } };
  readonly key: BecknSigningKey;
  readonly nowMs: number;
  readonly timeoutMs?: number;
  readonly idempotencyKey?: string;
}): Promise<PostResult> {
  const subject = subjectFor(input.baseUri, input.action);
  if (subject === undefined) return { httpStatus: 400, ack: null, error: null, problem: `"${input.baseUri.slice(0, 200)}" is not a nats:<subject> address` };
  const text = JSON.stringify(input.body);
  const ttlSec = Math.max(1, Math.round((parseIsoDuration(input.body.context.ttl ?? 'PT30S') ?? 30_000) / 1000));
  const sig = signRequest(text, input.key, input.nowMs / 1000, ttlSec);
  try {
    const reply = await input.bus.request(subject, enc(text), {
      timeoutMs: input.timeoutMs ?? 10_000,
      headers: { Authorization: sig.authorization, Digest: sig.digest, ...(input.idempotencyKey ? { 'Idempotency-Key': input.idempotencyKey } : {}) },
    });
    const declared = Number(reply.headers[BECKN_STATUS_HEADER] ?? '200');
    return readAnswer(Number.isInteger(declared) && declared >= 100 && declared <= 599 ? declared : 200, Buffer.from(reply.data).toString('utf8'));
  } catch (err) {
    const why = err instanceof NoRespondersError ? `nobody listens on ${subject}` : err instanceof TimeoutError ? `no answer on ${subject} within ${input.timeoutMs ?? 10_000} ms` : `request on ${subject} failed: ${(err as Error).message}`;
    return { httpStatus: 0, ack: null, error: null, problem: why };
  }
}

/**
 * The NATS adapter for a Beckn participant: its callback (or request) subjects under the
 * `nats:` address it listens at, and signed requests to `nats:` addresses. Structurally the
 * grid-operator agent's `BecknTransport`; `pathPrefix` is the subject prefix (the path of a
 * `nats:` URI is its subject prefix: `new URL('nats:beckn.x.bap.y').pathname`).
 */
export function natsTransport(bus: Bus) {
  return {
    listen: async (o: { readonly actions: ReadonlyArray<string>; readonly pathPrefix: string; readonly handler: RawHandler }) => startBecknNatsServer({ bus, prefix: o.pathPrefix, actions: o.actions, handler: o.handler }),
    post: (o: Omit<Parameters<typeof requestSigned>[0], 'bus'>) => requestSigned({ ...o, bus }),
  };
}
