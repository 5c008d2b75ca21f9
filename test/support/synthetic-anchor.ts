import { createHash } from 'node:crypto';
import type { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { ANCHOR_SIGNER, LedgerTracker, sealCheckpoint, type AnchorCheckpoint } from '../../core/anchor/index.ts';
import { GENESIS_HASH } from '../../core/envelope/envelope.ts';

/** An event as the anchor sees it: where it is and its hash, nothing else. */
export interface Ev {
  stream: string;
  revision: number;
  position: number;
  hash: string;
}

export const h = (s: string) => createHash('sha256').update(s).digest('hex');

/** A ledger in position order: `streams[i]` is the stream of the i-th event. */
export function ledgerOf(streams: ReadonlyArray<string>): Ev[] {
  const revs = new Map<string, number>();
  return streams.map((stream, i) => {
    const revision = (revs.get(stream) ?? -1) + 1;
    revs.set(stream, revision);
    return { stream, revision, position: i + 1, hash: h(`${stream}#${revision}:${i}`) };
  });
}

/** A checkpoint after every `every` events, and one at the end, signed by the anchor key. */
export function anchorOf(events: ReadonlyArray<Ev>, keyring: MemoryKeyring, every: number): AnchorCheckpoint[] {
  const t = new LedgerTracker();
  const out: AnchorCheckpoint[] = [];
  const write = () => {
    const s = t.snapshot();
    out.push(sealCheckpoint({ site: 't', seq: out.length + 1, time: '2023-07-03T00:00:00.000Z', position: s.position, events: s.events, streams: s.streams, headsHash: s.headsHash, logHash: s.logHash, prev: out.at(-1)?.hash ?? GENESIS_HASH, signer: ANCHOR_SIGNER }, (b) => keyring.sign(ANCHOR_SIGNER, b)));
  };
  events.forEach((e, i) => {
    t.observe(e);
    if ((i + 1) % every === 0) write();
  });
  if (events.length % every !== 0) write();
  return out;
}

/**
 * A record shaped as a checkpoint (every field of its type, dummy values), for tests of how the
 * anchor is read: the readers pass over anything not so shaped. `hash` defaults to one of `seq`.
 */
export function shapedRecord(seq: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const hex = h(`record ${seq}`);
  return { format: 'caco-anchor/1', seq, position: seq, events: seq, streams: 1, headsHash: hex, logHash: hex, root: hex, prev: GENESIS_HASH, hash: hex, site: 't', time: '2023-07-03T00:00:00.000Z', signer: ANCHOR_SIGNER, sig: '', ...extra };
}
