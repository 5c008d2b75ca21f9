import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { SimulatedClock } from '../../../core/clock/simulated-clock.ts';
import { WallClock } from '../../../core/clock/wall-clock.ts';

test('simulated clock fires timers in time order, ties in registration order', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 20 }), { minLength: 1, maxLength: 40 }), (ats) => {
      const c = new SimulatedClock(0);
      const fired: Array<[number, number]> = [];
      ats.forEach((at, i) => c.setTimer(at, () => fired.push([c.now(), i])));
      while (c.advanceToNextTimer());
      const expected = ats.map((at, i) => [at, i] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
      assert.deepEqual(fired, expected);
    }),
  );
});

test('simulated clock: cancelled timers do not fire; timers set for the past fire now; advanceTo stops at the target', () => {
  const c = new SimulatedClock(100);
  const fired: string[] = [];
  const cancel = c.setTimer(150, () => fired.push('cancelled'));
  c.setTimer(50, () => fired.push(`past@${c.now()}`));
  c.setTimer(300, () => fired.push('later'));
  cancel();
  c.advanceTo(200);
  assert.deepEqual(fired, ['past@100']);
  assert.equal(c.now(), 200);
  assert.equal(c.nextTimerAt(), 300);
  assert.throws(() => c.advanceTo(10), /cannot move the clock back/);
  // A timer that sets another for the same instant: both fire in this step.
  c.setTimer(300, () => c.setTimer(300, () => fired.push('chained')));
  assert.equal(c.advanceToNextTimer(), true);
  assert.deepEqual(fired, ['past@100', 'later', 'chained']);
  assert.equal(c.advanceToNextTimer(), false);
});

test('wall clock fires a timer after its time', async () => {
  const c = new WallClock();
  const t0 = c.now();
  const at = await new Promise<number>((r) => c.setTimer(t0 + 20, () => r(c.now())));
  assert.ok(at >= t0 + 19);
});
