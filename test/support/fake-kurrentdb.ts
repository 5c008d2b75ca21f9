/**
 * An in-process stand-in for a KurrentDB server behind the official client's API, for running
 * the EventStore contract where no KurrentDB can run (no Docker engine). It models only what
 * the client documents and the adapter relies on — and models it strictly:
 *
 * - `appendToStream` checks `streamState` ('any', 'no_stream', 'stream_exists', or the last
 *   revision as a bigint) and throws the client's own WrongExpectedVersionError, writing
 *   nothing; otherwise it writes every event or none. Data and metadata go through JSON, as
 *   on the wire, and come back JSON-parsed with `isJson` for application/json.
 * - `readStream` iterates forwards or backwards from a revision or END, `maxCount` events,
 *   and throws the client's StreamNotFoundError (on iteration) for a missing or deleted stream.
 * - `subscribeToStream` from END pushes each later event as 'data'.
 * - every call yields to the event loop first, so concurrent callers interleave as they
 *   would over a network.
 *
 * It is not KurrentDB: positions in $all, scavenging, deadlines, clustering and the gRPC
 * layer are not modelled. Passing the contract here shows the adapter's logic, not the wire.
 */
import { EventEmitter } from 'node:events';
import { StreamNotFoundError, WrongExpectedVersionError } from '@kurrent/kurrentdb-client';
import type { KurrentClient } from '../../core/store/kurrentdb-store.ts';

interface Stored {
  readonly id: string;
  readonly type: string;
  readonly contentType: string;
  readonly data: string;
  readonly metadata: string | undefined;
}

interface EventIn {
  id: string;
  type: string;
  contentType: string;
  data: unknown;
  metadata?: unknown;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

export class FakeKurrentServer {
  readonly streams = new Map<string, Stored[]>();
  readonly streamMetadata = new Map<string, unknown>();
  private readonly pushes = new Map<string, Set<EventEmitter>>();
  appends = 0;
  conflicts = 0;

  /** A client of this server (each store gets its own, as each process would). */
  client(): KurrentClient {
    const client = {
      appendToStream: async (name: string, events: EventIn | EventIn[], opts: { streamState?: unknown } = {}) => {
        await tick();
        return this.append(name, Array.isArray(events) ? events : [events], opts.streamState ?? 'any');
      },
      readStream: (name: string, opts: { direction?: string; fromRevision?: unknown; maxCount?: number | bigint } = {}) => this.read(name, opts),
      subscribeToStream: (name: string) => {
        const em = new EventEmitter() as EventEmitter & { unsubscribe(): Promise<void> };
        let set = this.pushes.get(name);
        if (!set) this.pushes.set(name, (set = new Set()));
        set.add(em);
        em.unsubscribe = async () => {
          set.delete(em);
        };
        return em;
      },
      setStreamMetadata: async (name: string, meta: unknown) => {
        await tick();
        this.streamMetadata.set(name, meta);
        return { success: true, nextExpectedRevision: 0n };
      },
      deleteStream: async (name: string) => {
        await tick();
        if (!this.streams.delete(name)) throw new StreamNotFoundError(undefined, name);
        return { position: undefined };
      },
      dispose: async () => {
        await tick();
      },
    };
    return client as unknown as KurrentClient;
  }

  private append(name: string, events: EventIn[], state: unknown) {
    const list = this.streams.get(name);
    const current = list && list.length > 0 ? BigInt(list.length - 1) : 'no_stream';
    const ok = state === 'any' || (state === 'no_stream' && current === 'no_stream') || (state === 'stream_exists' && current !== 'no_stream') || (typeof state === 'bigint' && state === current);
    if (!ok) {
      this.conflicts++;
      throw new WrongExpectedVersionError(undefined, { streamName: name, expected: state as 'any', current: current as 'no_stream' });
    }
    // Serialise all first: a value JSON cannot hold fails the whole append, as the client would before sending.
    const stored: Stored[] = events.map((e) => ({ id: e.id, type: e.type, contentType: e.contentType, data: JSON.stringify(e.data), metadata: e.metadata === undefined ? undefined : JSON.stringify(e.metadata) }));
    const target = list ?? [];
    this.streams.set(name, target);
    const first = target.length;
    target.push(...stored);
    this.appends++;
    for (const em of this.pushes.get(name) ?? []) stored.forEach((s, i) => em.emit('data', { event: this.recorded(name, s, first + i) }));
    return { success: true, nextExpectedRevision: BigInt(target.length - 1), position: { commit: 0n, prepare: 0n } };
  }

  private recorded(name: string, s: Stored, revision: number) {
    const isJson = s.contentType === 'application/json';
    return {
      streamId: name,
      id: s.id,
      revision: BigInt(revision),
      type: s.type,
      isJson,
      created: new Date(0),
      data: isJson ? (JSON.parse(s.data) as unknown) : Buffer.from(s.data),
      metadata: s.metadata === undefined ? undefined : (JSON.parse(s.metadata) as unknown),
    };
  }

  private async *read(name: string, opts: { direction?: string; fromRevision?: unknown; maxCount?: number | bigint }) {
    await tick();
    const list = this.streams.get(name);
    if (!list) throw new StreamNotFoundError(undefined, name);
    const backwards = opts.direction === 'backwards';
    let max = Number(opts.maxCount ?? Number.MAX_SAFE_INTEGER);
    const from = opts.fromRevision === undefined || opts.fromRevision === 'start' ? (backwards ? list.length - 1 : 0) : opts.fromRevision === 'end' ? (backwards ? list.length - 1 : list.length) : Number(opts.fromRevision as bigint);
    // A snapshot of the length, as a server read sees the stream as of when it started.
    const length = list.length;
    for (let r = Math.min(from, backwards ? length - 1 : from); backwards ? r >= 0 : r < length; backwards ? r-- : r++) {
      if (max-- <= 0) return;
      yield { event: this.recorded(name, list[r]!, r) };
    }
  }
}
