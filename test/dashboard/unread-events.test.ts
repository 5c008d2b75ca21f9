// test-file-timeout: 90
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../../core/log/index.ts';
import { startDashboard } from '../../dashboard/index.ts';
import { LiveModel } from '../../dashboard/live-model.ts';
import { evolveReadModel } from '../../projections/index.ts';
import { embeddedStack } from '../support/embedded.ts';
import { FixtureWriter, tick, writeFixtureLedger } from '../sim/report/fixture.ts';

describe('the dashboard keeps following a ledger whose projections are incomplete', { timeout: 80_000 }, () => {
  test('an event of a version this release does not know is skipped and shown; later events are still folded and verified', async () => {
    const s = embeddedStack('dash-unread');
    await writeFixtureLedger(s.store, 12, 'fz');
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, pushEveryMs: 100, verifyEveryMs: 200, log: silentLogger() });
    try {
      await s.store.append('plan-main', [{ id: 'newer-plan', type: 'compute.plan.published', version: 2, time: '2023-07-03T06:00:00.000Z', source: 'compute', correlationId: 'c', causationId: null, data: { planId: 'p-v2', startsAt: '2023-07-03T06:00:00Z', horizon: [] } } as never], 'any');
      const w = new FixtureWriter(s.store, 'fz2');
      for (let k = 12; k < 20; k++) await tick(w, k);
      const head = await s.store.headPosition();
      await dash.live.verifiedUpTo(head, 20_000);
      const v = dash.view();
      assert.equal(v.position, head);
      assert.equal(v.verification.events, head);
      assert.equal(v.audit.projections.complete, false);
      assert.deepEqual(v.audit.projections.skippedByType, { 'compute.plan.published@2': 1 });
      assert.equal(v.audit.projections.skippedFirst[0]!.eventId, 'newer-plan');
    } finally {
      await dash.close();
    }
    // It starts again on the same ledger.
    const again = await startDashboard({ store: s.store, keys: s.keyring, port: 0, log: silentLogger() });
    await again.close();
    await s.close();
  });

  test('a fold that throws on one event is recorded with its id, and the model goes on', async () => {
    const s = embeddedStack('dash-fold-fails');
    await writeFixtureLedger(s.store, 12, 'ff');
    let bad: string | undefined;
    const live = await LiveModel.start({
      store: s.store,
      keys: s.keyring,
      onChange: () => {},
      verifyEveryMs: 100,
      evolve: (m, e) => {
        if (bad === undefined && e.type === 'site.meter.read') bad = e.id;
        if (e.id === bad) throw new Error('projection bug');
        return evolveReadModel(m, e);
      },
    });
    try {
      const w = new FixtureWriter(s.store, 'ff2');
      for (let k = 12; k < 16; k++) await tick(w, k);
      const head = await s.store.headPosition();
      const ver = await live.verifiedUpTo(head, 20_000);
      assert.equal(ver.state, 'ok');
      assert.equal(live.model.audit.lastPosition, head);
      assert.equal(live.model.audit.events, head);
      assert.equal(live.model.audit.unread.failed, 1);
      assert.equal(live.model.audit.unread.failedFirst[0]!.eventId, bad);
      assert.equal(live.model.audit.unread.failedFirst[0]!.error, 'projection bug');
    } finally {
      await live.close();
      await s.close();
    }
  });
});
