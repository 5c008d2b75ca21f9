import type { Clock } from '../clock/clock.ts';
import { GENESIS_HASH } from '../envelope/envelope.ts';
import type { Keyring } from '../ledger/keyring.ts';
import type { EventStore } from '../store/event-store.ts';
import type { Logger } from '../log/logger.ts';
import { AnchorAuditor } from './anchor-audit.ts';
import type { AnchorLog } from './anchor-log.ts';
import { ANCHOR_SIGNER, isCheckpointRecord, sealCheckpoint, type AnchorCheckpoint, type SignatureCheck } from './checkpoint.ts';
import { CheckedAnchor } from './read-anchor.ts';
import type { LedgerTracker } from './ledger-tracker.ts';

export interface AnchorWriterOptions {
  readonly store: EventStore;
  readonly log: AnchorLog;
  /** Signs with its `site-anchor` key (created on first use, like every key). */
  readonly keyring: Keyring;
  readonly site: string;
  /** The checkpoints' `time`; the simulation's clock in a simulation. */
  readonly clock: Clock;
  readonly logger?: Logger;
}

/**
 * Writes signed checkpoints of the ledger's head to the anchor log: on `checkpoint()`, every
 * `everyMs` once `startPeriodic` is called, and at `close()`. It reads the ledger as any
 * reader does (only what is new since the last checkpoint) and never writes to it.
 */
export class AnchorWriter {
  private last: AnchorCheckpoint | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: ReturnType<typeof setInterval> | undefined;
  /** An append failed (another writer got there first, or the server was away): re-read the log's end first. */
  private stale = false;

  private constructor(
    private readonly o: AnchorWriterOptions,
    private readonly tracker: LedgerTracker,
    last: AnchorCheckpoint | undefined,
    /** Why the ledger found at start does not match its anchor, if it does not. */
    readonly startProblem: string | undefined,
    /**
     * `startProblem` unless it is only a checkpoint line cut short by a crash: the ledger or the
     * anchor was changed, forked or replaced, which a restart does not mend (GET /health fails).
     */
    readonly mismatch: string | undefined,
  ) {
    this.last = last;
  }

  get where(): string {
    return this.o.log.where;
  }

  /** The last checkpoint written or found. */
  get lastCheckpoint(): AnchorCheckpoint | undefined {
    return this.last;
  }

  /**
   * Read the anchor and fold the ledger once, so the next checkpoint continues both chains.
   * A ledger that no longer matches its anchor is logged (and kept in `startProblem`), not
   * fixed: the new checkpoints follow the old ones, so `caco audit verify` still shows where.
   */
  static async open(o: AnchorWriterOptions): Promise<AnchorWriter> {
    // Every checkpoint's hash and link is checked, and only the last valid one's signature,
    // which vouches for every checkpoint before it (SignatureCheck in checkpoint.ts): a year
    // of minute checkpoints is ~30 s of ed25519 at each start otherwise. Should that signature
    // fail, one of them is forged: checked again with every signature, to name the first.
    return (await AnchorWriter.start(o, 'last')) ?? (await AnchorWriter.start(o, 'every'))!;
  }

  /** The start-up check with `signatures`; undefined when `last` finds the last signature bad. */
  private static async start(o: AnchorWriterOptions, signatures: SignatureCheck): Promise<AnchorWriter | undefined> {
    // Read as the ledger's fold passes each checkpoint's position, never held whole; on to the
    // end past a broken chain, for the last record written.
    const anchor = new CheckedAnchor(o.log.where, await o.log.scan(), o.keyring, { signatures, readToEnd: true });
    const auditor = new AnchorAuditor(undefined, anchor);
    // A message that is not an event is passed over (verify-on-read quarantines it), not fatal.
    for await (const e of o.store.readAll({ onUnreadable: (u) => void auditor.passOver(u.position) })) auditor.observe(e);
    const fold = auditor.finish();
    if (!anchor.checker.settle()) return undefined;
    const valid = anchor.checker.count;
    const problem = anchor.problem;
    const foldBroke = valid > 0 && !fold.anchor?.ok;
    const startProblem = foldBroke ? fold.anchor?.problem : problem;
    // A last line cut short by a crash is not a mismatch (the append below cuts it off): said as
    // what it is, not logged as an error that sends the operator to an audit.
    if (startProblem && !foldBroke && anchor.integrityProblem === undefined) o.logger?.warn({ anchor: o.log.where, problem: startProblem }, "the anchor's last line was cut short by a crash while it was written; the next checkpoint removes it");
    else if (startProblem) o.logger?.error({ anchor: o.log.where, problem: startProblem }, 'the ledger does not match its anchor; run caco audit verify');
    // Continue after the last checkpoint written, valid or not: the chain must never fork. With
    // the anchor whole, that is the last one checked; else the log's last checkpoint, as its
    // append checks it (the read stops at a line that is not JSON, and records that are not
    // checkpoints, `[1]` say, have nothing to link to: both are passed over to the one before).
    const last = problem === undefined ? anchor.checker.last : lastCheckpointOf(await o.log.lastRecord());
    // For the health check: what the fold found beyond the anchor's own read (the ledger parts
    // from it), else the anchor's problem unless it is only a last line cut short by a crash,
    // which the fold repeats when the chain before it is good.
    const foldProblem = valid > 0 && !fold.anchor?.ok ? fold.anchor?.problem : undefined;
    const mismatch = foldProblem !== undefined && foldProblem !== problem ? foldProblem : anchor.integrityProblem;
    return new AnchorWriter(o, auditor.tracker, last, startProblem, mismatch);
  }

  /** Write a checkpoint if the ledger has moved since the last one; serialised. */
  checkpoint(): Promise<AnchorCheckpoint | undefined> {
    const run = this.queue.then(() => this.write());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async write(): Promise<AnchorCheckpoint | undefined> {
    for await (const e of this.o.store.readAll({ from: this.tracker.position, onUnreadable: (u) => this.tracker.passOver(u.position) })) this.tracker.observe(e);
    if (this.stale) {
      // Only the end matters: the log's last checkpoint (a file's, read from its tail).
      this.last = lastCheckpointOf(await this.o.log.lastRecord());
      this.stale = false;
    }
    if (this.tracker.events === 0 || (this.last && this.last.position === this.tracker.position && this.last.events === this.tracker.events)) return undefined;
    // Never vouch for an event a power cut could still take away.
    await this.o.store.durable?.();
    const snap = this.tracker.snapshot();
    const cp = sealCheckpoint(
      {
        site: this.o.site,
        seq: (typeof this.last?.seq === 'number' ? this.last.seq : 0) + 1,
        time: new Date(this.o.clock.now()).toISOString(),
        position: snap.position,
        events: snap.events,
        streams: snap.streams,
        headsHash: snap.headsHash,
        logHash: snap.logHash,
        prev: typeof this.last?.hash === 'string' ? this.last.hash : GENESIS_HASH,
        signer: ANCHOR_SIGNER,
      },
      (bytes) => this.o.keyring.sign(ANCHOR_SIGNER, bytes),
    );
    try {
      await this.o.log.append(cp);
    } catch (err) {
      this.stale = true;
      throw err;
    }
    this.last = cp;
    return cp;
  }

  /** Checkpoint every `everyMs` of wall time (a live site); failures are logged and retried next time. */
  startPeriodic(everyMs: number): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.checkpoint().catch((err: unknown) => this.o.logger?.warn({ anchor: this.o.log.where, err: err instanceof Error ? err.message : String(err) }, 'anchor checkpoint failed; will retry'));
    }, everyMs);
    this.timer.unref();
  }

  /** Stop the timer and write a last checkpoint. */
  async close(): Promise<AnchorCheckpoint | undefined> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    try {
      return (await this.checkpoint()) ?? this.last;
    } finally {
      await this.o.log.close();
    }
  }
}

/** What the log says is its last checkpoint, if it is one (valid or not) that the next can link to. */
function lastCheckpointOf(record: unknown): AnchorCheckpoint | undefined {
  return isCheckpointRecord(record) ? (record as AnchorCheckpoint) : undefined;
}
