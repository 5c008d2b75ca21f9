import { InvalidArgumentError } from '../errors/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { CheckpointStore, EventStore, UnreadableRecord } from '../store/event-store.ts';
import { CHECKPOINT_TAG_SUFFIX } from '../store/checkpoint-value.ts';

/**
 * A checkpoint only this site could have written. The effects reactor resumes from its
 * checkpoint, and whoever could write the checkpoint table (or KV bucket) could move it past
 * effects not yet sent: those callbacks were then never sent, and nothing said so. The
 * position is stored with a tag beside it (`<name>.tag`, and `<name>.next.tag` while a position
 * is being written: see write): 48 bits of the site's signature over the site, the name, the
 * position and the first ledger event at or after it, a number as every checkpoint store holds. A position
 * whose tag does not match (moved, or written by a version before tags) is not trusted: the
 * effects reactor starts from the beginning of the ledger, where every effect with an outcome
 * on the ledger is skipped, so the cost is one read of the ledger, never a lost or a repeated
 * send. An agent's checkpoint is tagged the same way but falls back to a position of its own
 * (AgentHost: after the last event it decided on); the relay's falls back to the start, and
 * publishes everything again. An older tagged position replayed moves
 * the reader back, which costs the same and no more.
 */
export interface TaggedCheckpointOptions {
  /** The tag of a position: a deterministic site signature, cut to a safe integer. */
  readonly tagOf: (name: string, position: number, heldHash: string) => number;
  readonly log: Logger;
  /**
   * The hash of the ledger event at a position, as stored ('' when none is there): the tag
   * signs it too, so a tagged position replayed after the ledger was replaced or rewound (an
   * `--init`, a restore) does not fit the other events now at that position.
   */
  readonly hashAt?: (position: number) => Promise<string>;
  /**
   * Where to resume instead of a position that is not trusted, and what that means for the
   * reader (for its warning); default the start of the ledger, as for the effects reactor.
   * The position found is written back, tagged, so the search runs once.
   */
  readonly fallback?: { readonly position: () => Promise<number>; readonly means: string };
}

/** How a reader's checkpoint is tagged: what the runtime hands the effects reactor and each agent. */
export type CheckpointTagging = Pick<TaggedCheckpointOptions, 'tagOf' | 'hashAt'>;

/** A ledger reader's resume position, as the effects reactor and each agent keep it. */
export interface ReaderCheckpoint {
  get(): Promise<number>;
  put(position: number): Promise<void>;
}

/** What a position being written puts before `.tag` for its second slot (`<name>.next.tag`). */
const NEXT_SLOT = '.next';

/**
 * Whether a reader named so would share a key with another's tag slot: `x.next`'s checkpoint is
 * the start of `x`'s second slot, `x.tag` is `x`'s first. The runtime refuses such agent names.
 */
export function clashesWithTagSlots(name: string): boolean {
  return name.endsWith(CHECKPOINT_TAG_SUFFIX) || name.endsWith(NEXT_SLOT);
}

/** The checkpoint `name`: tagged when the runtime hands the reader a tagging, else as stored. */
export function readerCheckpoint(store: CheckpointStore, name: string, tagged: TaggedCheckpointOptions | undefined): ReaderCheckpoint {
  return tagged ? new TaggedCheckpoint(store, name, tagged) : { get: () => store.get(name), put: (p) => store.put(name, p) };
}

export class TaggedCheckpoint implements ReaderCheckpoint {
  constructor(
    private readonly store: CheckpointStore,
    private readonly name: string,
    private readonly o: TaggedCheckpointOptions,
  ) {}

  /** The tag `position` must carry: bound to the event the ledger holds there now. */
  private async tagFor(position: number): Promise<number> {
    const held = position > 0 && this.o.hashAt ? await this.o.hashAt(position) : '';
    return this.o.tagOf(this.name, position, held);
  }

  private get tagName(): string {
    return `${this.name}${CHECKPOINT_TAG_SUFFIX}`;
  }

  /** The tag of a position being written, put before it (see write). */
  private get nextTagName(): string {
    return `${this.name}${NEXT_SLOT}${CHECKPOINT_TAG_SUFFIX}`;
  }

  /** get and put one at a time: a get between put's writes must not see a half-written pair. */
  private turn: Promise<unknown> = Promise.resolve();

  private inTurn<T>(f: () => Promise<T>): Promise<T> {
    const run = this.turn.then(f, f);
    this.turn = run.catch(() => undefined);
    return run;
  }

  get(): Promise<number> {
    return this.inTurn(() => this.read());
  }

  put(position: number): Promise<void> {
    return this.inTurn(() => this.write(position));
  }

  private async read(): Promise<number> {
    const { fallback, log } = this.o;
    const position = await this.numberAt(this.name);
    // 0 (or none) needs no tag: nothing is skipped from there. A reader with a fallback of its
    // own still asks it, since for an agent that decided before, the start is not harmless.
    if (position === 0 && !fallback) return 0;
    if (position !== undefined && position !== 0 && (await this.tagFits(position))) return position;
    const from = fallback ? await fallback.position() : 0;
    if (position === 0 && from === 0) return 0;
    const why = position === undefined ? 'does not hold a position this site wrote' : position === 0 ? 'holds no position' : `at position ${position} is not one this site wrote (its tag does not match)`;
    if (!fallback) {
      log.warn({ checkpoint: this.name, position }, `checkpoint "${this.name}" ${why}: reading from the start of the ledger instead; effects with an outcome on the ledger are not sent again`);
      return 0;
    }
    log.warn({ checkpoint: this.name, position, from }, `checkpoint "${this.name}" ${why}: resuming from position ${from} instead; ${fallback.means}`);
    await this.write(from);
    return from;
  }

  /**
   * The number stored under `name`; undefined for one that is not (text, negative, fractional):
   * written by someone else, as good as none. A position so was not written by this site either:
   * read from the start, as for a moved one, rather than not starting at all.
   */
  private async numberAt(name: string): Promise<number | undefined> {
    try {
      return await this.store.get(name);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      return undefined;
    }
  }

  /** Whether the stored tag, or the one put before a position being written, fits `position`. */
  private async tagFits(position: number): Promise<boolean> {
    const tag = await this.tagFor(position);
    return (await this.numberAt(this.tagName)) === tag || (await this.numberAt(this.nextTagName)) === tag;
  }

  /**
   * Three puts, so that a crash between any two leaves a position whose tag is there: the new
   * tag beside the old one first, then the position, then the tag in its place. (With two, a
   * crash between them left a position without its tag, and the reader fell back: for the
   * relay, a publish of the whole ledger again.) The tag is no weaker: only a position this
   * site signed fits either slot.
   */
  private async write(position: number): Promise<void> {
    const tag = await this.tagFor(position);
    await this.store.put(this.nextTagName, tag);
    await this.store.put(this.name, position);
    await this.store.put(this.tagName, tag);
  }
}

/** 48 bits of a signature as a checkpoint value (below 2^53, so every store keeps it exactly). */
export function tagFromSignature(sigBase64: string): number {
  const b = Buffer.from(sigBase64, 'base64');
  return b.readUIntBE(0, 6);
}

/**
 * The tag function a site's runtime uses: a key of the site signs site, name, position and the
 * hash of the event at the position; the key of `signer`, by default the party the checkpoint
 * is named after (`effects`). An agent's checkpoint (`agent:<name>`) is signed by the agent's
 * own key. (Version 2: version 1 did not sign the hash, and its tags read as not this site's.)
 */
export function siteCheckpointTag(keys: { sign(source: string, bytes: Uint8Array): string }, site: string, signer?: string): TaggedCheckpointOptions['tagOf'] {
  return (name, position, heldHash) => tagFromSignature(keys.sign(signer ?? name, Buffer.from(`caco-checkpoint/2\n${site}\n${name}\n${position}\n${heldHash}`, 'utf8')));
}

/**
 * What the ledger holds at `position`, as stored and unverified: the position and hash of the
 * first event at or after it ('' past the end). Not only an event exactly there: the effects
 * reactor checkpoints just below its oldest owed effect, which on JetStream (commit × 1024 +
 * index) is no event's position, and a tag over '' bound it to nothing at all.
 */
export function storedHashAt(store: Pick<EventStore, 'readAll'>): (position: number) => Promise<string> {
  return async (position) => {
    // A row there that cannot be read is named by its bytes' digest, as the quarantine names
    // it: it threw out of the tag check, and one edited row at a checkpoint's position stopped
    // the site from starting, where a row quarantined anywhere else does not.
    let unreadable: string | undefined;
    const onUnreadable = (u: UnreadableRecord) => void (unreadable ??= `${u.position}:unreadable:${u.sha256}`);
    for await (const e of store.readAll({ from: position - 1, limit: 1, onUnreadable })) return unreadable ?? `${e.position}:${e.hash}`;
    return unreadable ?? '';
  };
}
