// test-file-timeout: 30
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeciderSpec } from '../../../core/testing/index.ts';
import { tallyAgent } from '../../example/agents.ts';

const reading = (energyKwh: number) => DeciderSpec.event({ type: 'example.meter.read', data: { meter: 'main', periodStart: '2023-07-03T00:00:00.000Z', energyKwh } });

test('given no history, when a reading arrives, then the tally opens its stream with that total', async () => {
  const spec = DeciderSpec.for(tallyAgent());
  (await spec.when(reading(12.5))).expectDecisions([
    { stream: 'tally-main', expected: 'no-stream', events: [{ type: 'example.energy.totalled', data: { meter: 'main', readings: 1, totalKwh: 12.5 } }] },
  ]);
});

test('given a total at revision 3, when a reading arrives, then it adds to it at the expected revision', async () => {
  const spec = DeciderSpec.for(tallyAgent()).given([{ type: 'example.energy.totalled', data: { meter: 'main', readings: 4, totalKwh: 100 }, revision: 3 }]);
  assert.deepEqual(spec.state(), { totalKwh: 100, readings: 4, revision: 3 });
  const out = await spec.when(reading(0.3));
  out.expectEvents([{ type: 'example.energy.totalled', data: { meter: 'main', readings: 5, totalKwh: 100.3 } }]);
  assert.equal(out.decisions[0]!.expected, 3);
  // A wrong expectation fails: the harness is not a rubber stamp.
  assert.throws(() => out.expectEvents([{ type: 'example.energy.totalled', data: { meter: 'main', readings: 5, totalKwh: 100 } }]));
  assert.throws(() => out.expectEvents([]));
});

test('a reset command is decided from the given state; timers and clock come from the spec', async () => {
  const spec = DeciderSpec.for(tallyAgent()).given([{ type: 'example.energy.totalled', data: { meter: 'main', readings: 2, totalKwh: 9 }, revision: 0 }]).at('2023-07-03T10:00:00Z');
  const out = await spec.when(DeciderSpec.command({ type: 'example.tally.reset', data: { meter: 'main', reason: 'audit' } }));
  out.expectDecisions([{ stream: 'tally-main', expected: 0, events: [{ type: 'example.total.reset', data: { meter: 'main', reason: 'audit' } }] }]);
  assert.deepEqual(out.timers, []);
  assert.throws(() => spec.at('not a time'), /not a time/);
});
