import type { SimulatedClock } from '../core/clock/index.ts';
import type { Runtime } from '../core/runtime/index.ts';

/**
 * Moves a simulated clock to `targetMs`, stopping at every timer on the way and letting the
 * runtime settle after each, so every reaction to one instant is on the ledger before the next
 * instant begins.
 */
export async function advanceAndSettle(clock: SimulatedClock, runtime: Runtime, targetMs: number, opts: { fireAtTarget?: boolean } = {}): Promise<void> {
  const fireAt = opts.fireAtTarget ?? true;
  for (;;) {
    const next = clock.nextTimerAt();
    if (next === undefined || next > targetMs || (!fireAt && next === targetMs)) break;
    clock.advanceToNextTimer();
    await runtime.settle();
  }
  if (clock.now() < targetMs) clock.advanceTo(targetMs, { fireAtTarget: fireAt });
  await runtime.settle();
}
