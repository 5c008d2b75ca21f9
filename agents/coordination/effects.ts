import { isNatsUri, type BecknSigningKey } from '../../beckn/index.ts';
import type { Bus } from '../../core/bus/index.ts';
import { isOneOf, type Envelope } from '../../core/envelope/index.ts';
import type { EffectDeclaration, EffectResult } from '../../core/runtime/index.ts';
import { CallbackScheduled } from '../../schemas/index.ts';
import { postSigned, type LoopbackResolver } from './beckn-http.ts';
import { requestSigned } from './beckn-nats.ts';

/**
 * The BPP's one effect, at the edge: sending a scheduled on_* callback, signed when it leaves
 * (the signature's lifetime starts then, not when it was decided), over HTTP or NATS.
 */
export interface CallbackDeliveryDeps {
  readonly signingKey: BecknSigningKey;
  readonly timeoutMs: number;
  readonly resolver?: LoopbackResolver;
  readonly natsBus?: Bus;
  /** Through the fair queue rather than inline (a live BPP whose slow BAPs must not hold up the rest). */
  readonly background: boolean;
}

const isCallback = isOneOf([CallbackScheduled]);

/** A body that can be signed and sent: what the decider scheduled always is. */
function isSendable(body: unknown): body is { readonly context: { readonly ttl?: string } } {
  if (typeof body !== 'object' || body === null || !('context' in body)) return false;
  const c = body.context;
  return typeof c === 'object' && c !== null && (!('ttl' in c) || c.ttl === undefined || typeof c.ttl === 'string');
}

export function callbackDelivery(deps: CallbackDeliveryDeps): EffectDeclaration {
  return {
    key: (e) => (isCallback(e) ? bapKeyOf(e.data.target) : e.type),
    perform: (e, a) => deliver(deps, e, a.nowMs, a.idempotencyKey),
    background: deps.background,
  };
}

async function deliver(deps: CallbackDeliveryDeps, e: Envelope, nowMs: number, idempotencyKey: string): Promise<EffectResult> {
  if (!isCallback(e)) return { ok: false, reason: `not a callback: ${e.type}` };
  const { target, action, body } = e.data;
  if (!isSendable(body)) return { ok: false, reason: `the ${action} body has no context` };
  if (isNatsUri(target)) {
    // A NATS callback is an effect like an HTTP one: same body, same signature, same outcome.
    if (!deps.natsBus) return { ok: false, reason: `no NATS binding here for ${target.slice(0, 200)}` };
    return answerOf(await requestSigned({ bus: deps.natsBus, baseUri: target, action, body, key: deps.signingKey, nowMs, idempotencyKey, timeoutMs: deps.timeoutMs }));
  }
  const r = await postSigned({ baseUri: target, action, body, key: deps.signingKey, nowMs, idempotencyKey, ...(deps.resolver ? { resolve: deps.resolver.resolve } : {}), timeoutMs: deps.timeoutMs });
  return answerOf(r);
}

/**
 * Callbacks are queued per BAP endpoint: the origin of its bap_uri (what is slow is a server),
 * or over NATS its subject prefix (a `nats:` URI has no origin: all would share one queue).
 */
export function bapKeyOf(bapUri: string): string {
  if (isNatsUri(bapUri)) return bapUri;
  try {
    return new URL(bapUri).origin;
  } catch {
    return bapUri;
  }
}

/**
 * What the BAP said. An ACK or NACK is an answer (a NACK is its loss, not a fact about the
 * order); no answer, a timeout, 429 or a server error is tried again by the reactor.
 */
const retryable = (httpStatus: number): boolean => httpStatus === 0 || httpStatus >= 500 || httpStatus === 408 || httpStatus === 429;

function answerOf(r: { httpStatus: number; ack: 'ACK' | 'NACK' | null; error: { code: string; message?: string } | null; problem: string | null }): EffectResult {
  const detail = r.error ? `${r.error.code}${r.error.message ? ` ${r.error.message}` : ''}` : r.problem;
  // Busy or broken, whatever the body says: try again later.
  if (retryable(r.httpStatus)) return { ok: false, reason: `HTTP ${r.httpStatus}${detail ? `: ${detail}` : ''}` };
  if (r.ack !== null) return { ok: true, httpStatus: r.httpStatus, ack: r.ack, detail: detail === null ? null : detail.slice(0, 512) };
  return { ok: true, httpStatus: r.httpStatus, ack: null, detail: (detail ?? `HTTP ${r.httpStatus}`).slice(0, 512) };
}
