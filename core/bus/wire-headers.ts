import { canonicalMIMEHeaderKey, MsgHdrsImpl, type Msg, type MsgHdrs } from '@nats-io/transport-node';
import type { Headers } from './bus.ts';

/** Names already checked: a bus sends the same few (Nats-Msg-Id, Caco-Type, …) every time. */
const validNames = new Set<string>();

/**
 * nats.js headers for a publish, filled in one pass. The library's `set` deletes and re-appends
 * each name, finding it among the names already there by building and filtering a list of
 * them, so a relayed event's five headers cost ~25 short-lived arrays; on the JetStream
 * append → relay path that was a tenth of everything allocated, and the garbage collector a
 * sixth of the CPU. The checks are the library's own: a name of printable ASCII without ':'
 * (canonicalMIMEHeaderKey throws otherwise), a value without CR or LF, trimmed.
 */
export function wireHeaders(h: Headers): MsgHdrsImpl {
  const out = new MsgHdrsImpl();
  for (const k in h) {
    if (!Object.hasOwn(h, k)) continue;
    if (!validNames.has(k)) {
      canonicalMIMEHeaderKey(k);
      if (validNames.size < 256) validNames.add(k);
    }
    out.headers.set(k, [MsgHdrsImpl.validHeaderValue(h[k]!)]);
  }
  return out;
}

/**
 * A received message's headers, or `'undecodable'`. nats.js decodes the header block when
 * `Msg.headers` is first read and throws on a name with a space, a ':', a control character
 * or a non-ASCII byte; the server passes header bytes through unchecked. Read outside a
 * `try`, one two-byte header from anyone who may publish on a subscribed subject ended the
 * process (a helper's review): every read of a received message's headers goes through here.
 */
export function receivedHeaders(m: Msg): MsgHdrs | undefined | 'undecodable' {
  try {
    return m.headers;
  } catch {
    return 'undecodable';
  }
}
