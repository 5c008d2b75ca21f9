import type { AgentContext } from '../../core/runtime/index.ts';
import { HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';
import { iso } from './ledger-format.ts';

export const TICK = 'tick';

/**
 * The half-hourly tick timers of one agent instance. Timers live in the runtime's memory, not
 * on the ledger, so what has been armed is not state: a restart loses the timers, and `start`
 * arms them again from the ledger's state. It remembers the latest tick armed so that a
 * decide retried after a failure (which arms the next tick again) does not arm it twice: each
 * timer costs an input id, and a duplicate tick would change a simulation's ledger.
 */
export class TickSchedule {
  private armedAt = Number.NEGATIVE_INFINITY;

  /**
   * After a restore: every half-hour since the last one dispatched (`lastDispatchedMs`) is run
   * once, in order, so a restart (or a crash in the middle of a tick) loses no half-hour of
   * metering, starts or completions; then the next half-hour on the clock.
   */
  start(ctx: AgentContext, lastDispatchedMs: number | undefined): void {
    this.armedAt = Number.NEGATIVE_INFINITY;
    const now = ctx.now();
    if (lastDispatchedMs !== undefined) {
      const missed = Math.max(0, Math.floor((now - lastDispatchedMs) / SLOT_MS));
      if (missed > 1) ctx.log.info({ missed, from: iso(lastDispatchedMs + SLOT_MS) }, 'catching up the half-hours missed while stopped');
      for (let t = lastDispatchedMs + SLOT_MS; t <= now; t += SLOT_MS) this.arm(ctx, t);
    }
    this.arm(ctx, Math.ceil(now / SLOT_MS) * SLOT_MS);
  }

  /** A tick at `atMs` is due: arm the one after it. */
  next(ctx: AgentContext, atMs: number): void {
    this.arm(ctx, atMs + SLOT_MS);
  }

  private arm(ctx: AgentContext, atMs: number): void {
    if (atMs <= this.armedAt) return;
    this.armedAt = atMs;
    ctx.setTimer(atMs, TICK);
  }
}
