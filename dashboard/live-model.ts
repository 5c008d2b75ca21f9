import type { Envelope } from '../core/envelope/index.ts';
import type { PublicKeyDirectory } from '../core/ledger/index.ts';
import { describeBreak, verifyLedger } from '../core/ledger/index.ts';
import type { EventStore, StoreSubscription } from '../core/store/index.ts';
import { verifiedView } from '../core/store/index.ts';
import { createLogger } from '../core/log/index.ts';
import { evolveReadModel, initialReadModel, type ReadModel } from '../projections/index.ts';
import { evolveAudit, noteFoldFailure } from '../projections/audit/index.ts';
import type { Verification } from './view.ts';

export interface LiveModelOptions {
  readonly store: EventStore;
  readonly keys: PublicKeyDirectory;
  /** Called after the model or the verification changed (the server throttles what it sends). */
  readonly onChange: () => void;
  /** Wait at least this long after the last check before verifying again (default 2 s). */
  readonly verifyEveryMs?: number;
  /** The fold (default `evolveReadModel`); tests pass one that fails. */
  readonly evolve?: (m: ReadModel, e: Envelope) => ReadModel;
}

/**
 * The projections kept up to date by tailing the store (catch-up, then live), and the
 * ledger's full verification (hashes and signatures) re-run whenever the ledger has grown.
 */
export class LiveModel {
  private current: ReadModel = initialReadModel;
  private verif: Verification = { state: 'pending', running: false, events: 0, headHash: null, checkedAt: null, detail: null };
  private sub: StoreSubscription | null = null;
  private timer: NodeJS.Timeout | null = null;
  private verifying: Promise<void> | null = null;
  private closed = false;
  private lastVerifyMs = 0;

  private constructor(private readonly o: LiveModelOptions) {}

  static async start(o: LiveModelOptions): Promise<LiveModel> {
    const m = new LiveModel(o);
    // The projections see verified events only; the verification panel below judges the raw ledger.
    m.sub = await verifiedView(o.store, o.keys, createLogger({ level: 'warn' })).subscribeAll((e) => m.apply(e), {
      // Reading the ledger failed for good: the projections stop here, and the page says so.
      onError: (err, info) => {
        if (info.fatal) m.stopped(err, info.position);
      },
    });
    await m.sub.caughtUp();
    // Folding the catch-up scheduled a check a gap away (verifyEveryMs, ten minutes on a quiet
    // site's setting): the first one is due now.
    if (m.timer) clearTimeout(m.timer);
    m.timer = null;
    m.scheduleVerify(0);
    return m;
  }

  get model(): ReadModel {
    return this.current;
  }

  get verification(): Verification {
    return this.verif;
  }

  /**
   * One event into the projections. A fold that throws on it does not end the subscription:
   * the event is counted in the audit (the ledger's chain goes on) and recorded as a failure
   * with its id, which the page shows as projections incomplete; the next events are folded.
   */
  private apply(e: Envelope): void {
    try {
      this.current = (this.o.evolve ?? evolveReadModel)(this.current, e);
    } catch (err) {
      let audit = this.current.audit;
      try {
        audit = evolveAudit(audit, e);
      } catch {
        // The audit reads only the envelope; if even that fails, the failure below says which event.
      }
      this.current = { ...this.current, audit: noteFoldFailure(audit, e, err) };
    }
    this.o.onChange();
    this.scheduleVerify(this.verifyGapMs());
  }

  private stopped(err: unknown, position: number): void {
    const reason = `the ledger could not be followed after position ${position}: ${err instanceof Error ? err.message : String(err)}`;
    this.current = { ...this.current, audit: noteFoldFailure(this.current.audit, { type: '(subscription)' }, reason) };
    if (!this.closed) this.o.onChange();
  }

  /** A full check reads and verifies every event, so a live ledger is checked at most every other check's length. */
  private verifyGapMs(): number {
    return Math.max(this.o.verifyEveryMs ?? 2000, 2 * this.lastVerifyMs);
  }

  private scheduleVerify(delayMs: number): void {
    if (this.closed || this.timer || this.verifying) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.verifying = this.verify().finally(() => {
        this.verifying = null;
        // Events that arrived during the check need another.
        if (this.current.audit.events > this.verif.events) this.scheduleVerify(this.verifyGapMs());
      });
    }, delayMs);
  }

  private async verify(): Promise<void> {
    this.verif = { ...this.verif, running: true };
    this.o.onChange();
    const t0 = performance.now();
    try {
      const r = await verifyLedger(this.o.store, this.o.keys);
      this.lastVerifyMs = performance.now() - t0;
      const b = r.firstBroken;
      this.verif = { state: r.ok ? 'ok' : 'broken', running: false, events: r.events, headHash: r.headHash, checkedAt: new Date().toISOString(), detail: b ? describeBreak(b) : null };
    } catch (err) {
      this.verif = { ...this.verif, state: 'error', running: false, checkedAt: new Date().toISOString(), detail: err instanceof Error ? err.message : String(err) };
    }
    if (!this.closed) this.o.onChange();
  }

  /** Resolves once a verification covering at least `events` events has finished. */
  async verifiedUpTo(events: number, timeoutMs = 10_000): Promise<Verification> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (!this.verif.running && this.verif.state !== 'pending' && this.verif.events >= events) return this.verif;
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.verif;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.sub?.close();
    await this.verifying;
  }
}
