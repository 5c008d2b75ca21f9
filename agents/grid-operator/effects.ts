import type { BecknSigningKey } from '../../beckn/index.ts';
import { isOneOf, type Envelope } from '../../core/envelope/index.ts';
import type { EffectDeclaration, EffectResult } from '../../core/runtime/index.ts';
import { truncateText } from '../../core/runtime/index.ts';
import { BecknRequestScheduled } from '../../schemas/index.ts';
import type { BecknTransport, PostOutcome } from './transport.ts';

/** The BAP's one effect, at the edge: sending a scheduled Beckn request through its transport, signed when it leaves. */
export interface RequestDeliveryDeps {
  readonly transport: BecknTransport;
  readonly signingKey: BecknSigningKey;
  readonly timeoutMs: number;
}

const isRequest = isOneOf([BecknRequestScheduled]);

/** A body that can be signed and sent: what the decider scheduled always is. */
function isSendable(body: unknown): body is { readonly context: { readonly ttl?: string } } {
  if (typeof body !== 'object' || body === null || !('context' in body)) return false;
  const c = body.context;
  return typeof c === 'object' && c !== null && (!('ttl' in c) || c.ttl === undefined || typeof c.ttl === 'string');
}

export function requestDelivery(deps: RequestDeliveryDeps): EffectDeclaration {
  return {
    key: (e) => (isRequest(e) ? e.data.target : e.type),
    perform: (e, a) => deliver(deps, e, a.nowMs, a.idempotencyKey),
  };
}

async function deliver(deps: RequestDeliveryDeps, e: Envelope, nowMs: number, idempotencyKey: string): Promise<EffectResult> {
  if (!isRequest(e)) return { ok: false, reason: `not a Beckn request: ${e.type}` };
  const { target, action, body } = e.data;
  if (!isSendable(body)) return { ok: false, reason: `the ${action} body has no context` };
  const r = await deps.transport.post({ baseUri: target, action, body, key: deps.signingKey, nowMs, timeoutMs: deps.timeoutMs, idempotencyKey });
  // A NACK is the BPP's answer (fed back to decide); no answer, 429 or a server error is retried.
  const detail = refused(r);
  if (r.httpStatus === 0 || r.httpStatus >= 500 || r.httpStatus === 408 || r.httpStatus === 429) return { ok: false, reason: `HTTP ${r.httpStatus}: ${detail}` };
  if (r.ack !== null) return { ok: true, httpStatus: r.httpStatus, ack: r.ack, detail: r.ack === 'ACK' ? null : detail };
  return { ok: true, httpStatus: r.httpStatus, ack: null, detail };
}

// The other side's words are bounded before they reach a ledger reason (at most 2,048 characters).
const refused = (r: PostOutcome): string => truncateText(r.error ? `${r.error.code}${r.error.message ? ` ${r.error.message}` : ''}` : (r.problem ?? `HTTP ${r.httpStatus}`), 512);
