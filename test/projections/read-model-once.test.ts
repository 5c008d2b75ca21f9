// test-file-timeout: 60
/**
 * Found by a helper's review: folding an event twice (a redelivery, a resume from an overlapping
 * position) left money and energy right but doubled what adds up: plans published 176 → 352,
 * Beckn refusals 1 → 2, a zero-length run per repeated start. The read model now passes over an
 * event at or below the last position it folded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Envelope } from '../../core/envelope/index.ts';
import { projectReadModel } from '../../projections/index.ts';
import { embeddedStack } from '../support/embedded.ts';
import { FixtureWriter, flexLifecycle, tick } from '../sim/report/fixture.ts';

test('the read model of a ledger is the same however often and with whatever overlap its events are handed over', async () => {
  const s = embeddedStack('read-model-once');
  try {
    const w = new FixtureWriter(s.store, 'once');
    for (let k = 0; k < 12; k++) await tick(w, k);
    await flexLifecycle(w);
    const events: Envelope[] = [];
    for await (const e of s.store.readAll()) events.push(e);
    const once = projectReadModel(events);
    assert.ok(once.schedule.plansPublished > 0, 'the fixture publishes plans');
    assert.deepEqual(projectReadModel(events.flatMap((e) => [e, e])), once);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: events.length }), fc.integer({ min: 0, max: events.length }), (cut, back) => {
        // Fold up to `cut`, then resume from `back` events earlier (an overlapping re-read).
        const first = projectReadModel(events.slice(0, cut));
        const resumed = projectReadModel(events.slice(Math.max(0, cut - back)), first);
        assert.deepEqual(resumed, once);
      }),
      { seed: 7, numRuns: 30 },
    );
  } finally {
    await s.close();
  }
});
