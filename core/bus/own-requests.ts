import { createInbox, type NatsConnection } from '@nats-io/transport-node';

/**
 * The requests this process has in flight on a NATS connection, by reply inbox.
 *
 * The site answers requests with its own permissions, and a requester chooses the reply
 * subject. isReplySubject keeps answers to inboxes, but the site's own inboxes are inboxes too,
 * and a party the site sends requests to (a Beckn buyer receiving `on_confirm` over NATS) sees
 * them. A junk command sent to the site with reply = one of the site's pending inboxes made the
 * site's refusal the answer to its own request. So every request a bus sends gets an inbox of
 * its own (not nats.js's shared one, whose per-request tokens the bus cannot see), and an answer
 * aimed at one of them goes out only for the very request it waits on: same subject, same bytes
 * (a process requesting itself, as the grid operator asks the site's BPP in one process).
 */
interface Waiting {
  readonly subject: string;
  readonly data: Uint8Array;
}

const inFlight = new WeakMap<NatsConnection, Map<string, Waiting>>();

/** An inbox for one request; `done()` once its answer has come or it has failed. */
export function ownRequestInbox(nc: NatsConnection, subject: string, data: Uint8Array): { readonly reply: string; readonly done: () => void } {
  let waiting = inFlight.get(nc);
  if (!waiting) inFlight.set(nc, (waiting = new Map()));
  const reply = createInbox(inboxPrefixOf(nc));
  const map = waiting;
  map.set(reply, { subject, data });
  return { reply, done: () => void map.delete(reply) };
}

/**
 * True when `msg.reply` is one of this connection's own requests in flight and `msg` is not
 * that request: an answer would resolve the process's own request with somebody else's reply.
 */
export function aimsAtOwnRequest(nc: NatsConnection, msg: { readonly subject: string; readonly reply?: string | undefined; readonly data: Uint8Array }): boolean {
  if (msg.reply === undefined) return false;
  const w = inFlight.get(nc)?.get(msg.reply);
  if (!w) return false;
  return w.subject !== msg.subject || !sameBytes(w.data, msg.data);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

function inboxPrefixOf(nc: NatsConnection): string | undefined {
  // nats.js keeps the connection's options (credentials may set `_INBOX_<name>`) on the connection object, outside its interface.
  const prefix = (nc as { readonly options?: { readonly inboxPrefix?: unknown } }).options?.inboxPrefix;
  return typeof prefix === 'string' && prefix !== '' ? prefix : undefined;
}
