import { randomUUID } from 'node:crypto';
import { buildContext, signRequest, type BecknSigningKey } from '../../beckn/index.ts';
import type { BecknRequestAction } from '../../schemas/beckn/index.ts';
import { SIM_BPP } from '../../agents/coordination/index.ts';
import { TEST_BAP, type Market } from './harness.ts';

/** A hand-driven BAP for tests: builds contexts, signs (or mis-signs) and posts to the BPP. */

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: { message: { ack: { status: 'ACK' | 'NACK' } }; error?: { code: string; message?: string; paths?: string } };
}

export function contextFor<A extends BecknRequestAction>(m: Market, action: A, opts: { transactionId?: string; messageId?: string; nowMs?: number; ttl?: string } = {}) {
  return buildContext({
    action,
    bap: TEST_BAP,
    ...(action === 'search' ? {} : { bpp: SIM_BPP }),
    transactionId: opts.transactionId ?? randomUUID(),
    messageId: opts.messageId ?? randomUUID(),
    nowMs: opts.nowMs ?? m.clock.now(),
    ...(opts.ttl ? { ttl: opts.ttl } : {}),
  });
}

/** POST exact bytes with exact headers. */
export async function postRaw(m: Market, action: string, text: string, headers: Record<string, string>): Promise<Answer> {
  const res = await fetch(m.resolver.resolve(`${SIM_BPP.uri}/${action}`), { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: text });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Answer['body'] };
}

/** Sign with `key` (default the test BAP's) as of `signAtMs` (default now) and post. */
export async function send(m: Market, action: string, body: unknown, opts: { key?: BecknSigningKey; signAtMs?: number; ttlSec?: number } = {}): Promise<Answer> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const sig = signRequest(text, opts.key ?? m.testBapKey, (opts.signAtMs ?? m.clock.now()) / 1000, opts.ttlSec ?? 30);
  return postRaw(m, action, text, { authorization: sig.authorization });
}
