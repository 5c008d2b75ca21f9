import type { PublicKeyDirectory } from '../ledger/keyring.ts';
import type { AnchorInput } from './anchor-audit.ts';
import type { AnchorItem, AnchorLog } from './anchor-log.ts';
import { AnchorChainChecker, type AnchorCheckpoint, type SignatureCheck } from './checkpoint.ts';

/**
 * An anchor log checked as it is read: the checkpoints whose chain (and signatures) hold, one
 * at a time, for an AnchorAuditor that takes the next one as the ledger's read passes its
 * position. It holds the checker's previous checkpoint, never the list, so a long anchor costs
 * its read, not its size. Iterate `checkpoints` once; `problem` and the counts are final once
 * it has been iterated to its end (the auditor's finish does).
 */
export class CheckedAnchor implements AnchorInput {
  readonly checker: AnchorChainChecker;
  readonly expectHead?: string;
  private readonly items: Iterator<AnchorItem>;
  private readProblem: string | undefined;
  private readCutShort = false;

  constructor(
    readonly where: string,
    items: Iterable<AnchorItem>,
    keys: PublicKeyDirectory,
    private readonly o: {
      readonly signatures?: SignatureCheck;
      /** The --expect-head root, so the audit notes the checkpoint that has it as it passes. */
      readonly expectHead?: string;
      /**
       * Read on to the end after the chain stops, for a parse problem after it (the writer names
       * a parse problem first).
       */
      readonly readToEnd?: boolean;
    } = {},
  ) {
    this.items = items[Symbol.iterator]();
    this.checker = new AnchorChainChecker(keys, o.signatures ?? 'every');
    if (o.expectHead !== undefined) this.expectHead = o.expectHead;
  }

  get checkpoints(): Iterable<AnchorCheckpoint> {
    return { [Symbol.iterator]: () => this.take() };
  }

  /**
   * What is wrong with the anchor: the chain's problem, else the read's first (`readToEnd`: the
   * read's first). A record passed over is a problem though the checkpoints after it are used.
   */
  get problem(): string | undefined {
    return this.o.readToEnd ? (this.readProblem ?? this.checker.problem) : (this.checker.problem ?? this.readProblem);
  }

  /**
   * `problem`, unless it is only a last line cut short by a crash (never reported written; the
   * next append cuts it off): the anchor is broken, forged or forked, for a health check.
   */
  get integrityProblem(): string | undefined {
    return this.checker.problem ?? (this.readCutShort ? undefined : this.readProblem);
  }

  private *take(): Generator<AnchorCheckpoint, void, undefined> {
    try {
      for (let r = this.items.next(); !r.done; r = this.items.next()) {
        if ('problem' in r.value) {
          if (this.readProblem === undefined) {
            this.readProblem = r.value.problem;
            this.readCutShort = r.value.cutShort === true;
          }
          // A record that is no checkpoint is named and passed over, as the writer passes over
          // it: stopping there let one junk line hide every later checkpoint, and so every
          // change to the ledger they anchor.
          if (r.value.passedOver) continue;
          break;
        }
        const cp = this.checker.push(r.value.record);
        if (cp) yield cp;
        else if (!this.o.readToEnd) break;
      }
    } finally {
      // Stopped early (the chain broke, or the reader stopped): close the file.
      this.items.return?.();
    }
  }
}

/**
 * The anchor log's checkpoints whose chain and signatures hold, checked as the audit reads
 * them (`scan`: the file in chunks). Every signature is verified: the audit is where a
 * checkpoint whose `sig` alone was replaced is named, and its time is the auditor's, not a
 * site's start-up (which checks the last signature only: AnchorWriter.open). `expectHead`:
 * the root --expect-head gives, which the audit then looks for among the checkpoints it passes.
 */
export async function readAnchor(log: AnchorLog, keys: PublicKeyDirectory, opts: { expectHead?: string } = {}): Promise<CheckedAnchor> {
  return new CheckedAnchor(log.where, await log.scan(), keys, { signatures: 'every', ...(opts.expectHead !== undefined ? { expectHead: opts.expectHead } : {}) });
}
