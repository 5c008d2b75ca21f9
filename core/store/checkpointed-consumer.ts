import type { Envelope } from '../envelope/envelope.ts';
import type { CheckpointStore, EventStore, StoreSubscription, SubscribeAllOptions, SubscriptionStatus } from './event-store.ts';
import { FifoSet } from '../collections/fifo-map.ts';

/**
 * How a projection (or any reader outside the agents) follows the ledger without missing or
 * double-counting an event:
 *
 * - it resumes from its own checkpoint (a position), so a restart neither starts over nor
 *   skips what was appended while it was down: the store's subscription is catch-up then live
 *   with no boundary in between;
 * - it skips any event whose position is not past the last one handled, and any event id it
 *   has already handled (a bounded memory of recent ids). Positions alone cover one store;
 *   ids also cover a copy that arrives at another position: a commit re-sent after the
 *   server's duplicate window, or the same facts read through the bus after a relay restart;
 * - the checkpoint is written after the handler has run, so an event is handled at least once
 *   across crashes, and at most once while the process lives; a handler that must count each
 *   event exactly once across crashes keeps its state and the checkpoint together (or is
 *   idempotent by event id).
 */
export interface CheckpointedConsumerOptions {
  readonly store: EventStore;
  readonly checkpoints: CheckpointStore;
  /** Checkpoint name, unique per consumer (e.g. `projection.settlement`). */
  readonly name: string;
  readonly handler: (event: Envelope) => void | Promise<void>;
  /** Write the checkpoint after this many handled events (and at close); default 100. */
  readonly checkpointEvery?: number;
  /** How many recent event ids are remembered for dedupe; default 10,000. */
  readonly rememberIds?: number;
  /** Only these stream categories (as the store's subscribeAll takes them). */
  readonly categories?: ReadonlyArray<string>;
  /** How the underlying subscription treats failures (see SubscribeAllOptions). */
  readonly failures?: Pick<SubscribeAllOptions, 'handlerFailures' | 'giveUpAfterMs' | 'onError'>;
}

export interface CheckpointedConsumer {
  /** Position of the last event handled. */
  readonly position: number;
  /** Events handled, and copies skipped because their id had been handled already. */
  readonly handled: number;
  readonly duplicatesSkipped: number;
  /** The underlying subscription's state, for health checks. */
  status(): SubscriptionStatus;
  caughtUp(): Promise<void>;
  close(): Promise<void>;
}

/** A bounded set of event ids: the oldest are forgotten first (O(1), see FifoSet). */
export class RecentIds extends FifoSet<string> {}

/**
 * The pure rule, separated so it can be checked on any delivery sequence: given what was
 * handled so far, is this delivery new?
 */
export function isNewDelivery(e: Pick<Envelope, 'id' | 'position'>, lastPosition: number, seen: RecentIds): boolean {
  return e.position > lastPosition && !seen.has(e.id);
}

export async function startCheckpointedConsumer(o: CheckpointedConsumerOptions): Promise<CheckpointedConsumer> {
  const every = o.checkpointEvery ?? 100;
  const seen = new RecentIds(o.rememberIds ?? 10_000);
  let position = await o.checkpoints.get(o.name);
  let handled = 0;
  let duplicates = 0;
  let since = 0;
  const sub: StoreSubscription = await o.store.subscribeAll(
    async (e) => {
      if (!isNewDelivery(e, position, seen)) {
        if (e.position > position) position = e.position;
        duplicates++;
        return;
      }
      await o.handler(e);
      seen.add(e.id);
      position = e.position;
      handled++;
      if (++since >= every) {
        since = 0;
        await o.checkpoints.put(o.name, position);
      }
    },
    { from: position, ...(o.categories ? { categories: o.categories } : {}), ...o.failures },
  );
  return {
    get position() {
      return position;
    },
    get handled() {
      return handled;
    },
    get duplicatesSkipped() {
      return duplicates;
    },
    status: () => sub.status?.() ?? { state: 'running', position, attempts: 0 },
    caughtUp: () => sub.caughtUp(),
    async close() {
      await sub.close();
      await o.checkpoints.put(o.name, position);
    },
  };
}
