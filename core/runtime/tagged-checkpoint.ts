import { InvalidArgumentError } from '../errors/errors.ts';
import type { Logger } from '../log/logger.ts';
import type { CheckpointStore } from '../store/event-store.ts';
import { CHECKPOINT_TAG_SUFFIX } from '../store/checkpoint-value.ts';

/**
 * A checkpoint only this site could have written. The effects reactor resumes from its
 * checkpoint, and whoever could write the checkpoint table (or KV bucket) could move it past
 * effects not yet sent: those callbacks were then never sent, and nothing said so. The
 * position is stored with a tag beside it (`<name>.tag`): 48 bits of the site's signature over
 * the site, the name and the position, a number as every checkpoint store holds. A position
 * whose tag does not match (moved, or written by a version before tags) is not trusted: the
 * reader starts from the beginning of the ledger, where every effect with an outcome on the
 * ledger is skipped, so the cost is one read of the ledger, never a lost or a repeated send.
 * An older tagged position replayed moves the reader back, which costs the same and no more.
 */
export class TaggedCheckpoint {
  constructor(
    private readonly store: CheckpointStore,
    private readonly name: string,
    /** The tag of a position: a deterministic site signature, cut to a safe integer. */
    private readonly tagOf: (name: string, position: number) => number,
    private readonly log: Logger,
  ) {}

  private get tagName(): string {
    return `${this.name}${CHECKPOINT_TAG_SUFFIX}`;
  }

  async get(): Promise<number> {
    const position = await this.numberAt(this.name);
    if (position === 0) return 0;
    const tag = position === undefined ? undefined : await this.numberAt(this.tagName);
    if (position !== undefined && tag === this.tagOf(this.name, position)) return position;
    const why = position === undefined ? 'does not hold a position this site wrote' : `at position ${position} is not one this site wrote (its tag does not match)`;
    this.log.warn({ checkpoint: this.name, position }, `checkpoint "${this.name}" ${why}: reading from the start of the ledger instead; effects with an outcome on the ledger are not sent again`);
    return 0;
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

  async put(position: number): Promise<void> {
    // The position first: a crash between the two leaves a mismatch, read as "from the start".
    await this.store.put(this.name, position);
    await this.store.put(this.tagName, this.tagOf(this.name, position));
  }
}

/** 48 bits of a signature as a checkpoint value (below 2^53, so every store keeps it exactly). */
export function tagFromSignature(sigBase64: string): number {
  const b = Buffer.from(sigBase64, 'base64');
  return b.readUIntBE(0, 6);
}

/** The tag function a site's runtime uses: its key for the checkpoint's name signs site, name and position. */
export function siteCheckpointTag(keys: { sign(source: string, bytes: Uint8Array): string }, site: string): (name: string, position: number) => number {
  return (name, position) => tagFromSignature(keys.sign(name, Buffer.from(`caco-checkpoint/1\n${site}\n${name}\n${position}`, 'utf8')));
}
