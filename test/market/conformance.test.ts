import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { BecknSpecValidator, confirmRequest, searchRequest, statusRequest, supportRequest } from '../../beckn/index.ts';
import { decodeBecknBody, type BecknAction } from '../../schemas/beckn/index.ts';
import { skipWithoutSpec, specDir } from '../beckn/spec-dir.ts';
import { forecast, flexibility, HOUR, meterRead, startMarket, stress, T0, type Recorded } from './harness.ts';
import { contextFor, send } from './client.ts';

const at = (h: number) => T0 + h * HOUR;
const HALF = HOUR / 2;

/**
 * Every Beckn message the project put on the wire in a market run — the grid operator's
 * requests, the BPP's callbacks (answers, status pushes with telemetry and settlement, error
 * callbacks) — checked strictly against the official core 1.1.1 spec and CACO's own schemas.
 */
describe('messages CACO sends conform to the Beckn spec', { skip: skipWithoutSpec }, () => {
  test('a market run: requests, callbacks, pushes and error callbacks', async () => {
    const spec = BecknSpecValidator.fromFile(join(specDir(), 'core-v1.1.1', 'transaction.yaml'));
    const m = await startMarket({ coordination: { sellShare: 1 } });
    try {
      await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 }, { startMs: at(6), kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 }]));
      await m.emit('grid.stress.expected', stress(at(4), at(5)));
      await m.emit('grid.stress.expected', stress(at(6), at(7)));
      // The second window eases, then passes: update and cancel.
      const later = (p: number) => (ms: number) => (ms >= at(6) && ms < at(7) ? p : 180);
      await m.emit('grid.forecast.published', forecast(at(0), later(150)));
      await m.emit('grid.forecast.published', forecast(at(0), later(100)));
      // The first is delivered, settled and rated.
      await m.advanceTo(at(4) + HALF);
      await m.emit('site.meter.read', meterRead(at(4), 8000));
      await m.advanceTo(at(5));
      await m.emit('site.meter.read', meterRead(at(4) + HALF, 8100));
      // A hand-driven BAP: short-flow confirm, status, support, and a refused search callback.
      const txn = crypto.randomUUID();
      await send(m, 'search', searchRequest(contextFor(m, 'search', { transactionId: txn }), { minKw: 100 }));
      await send(m, 'support', supportRequest(contextFor(m, 'support', { transactionId: txn }), 'anything'));
      const bodyA = confirmRequest(contextFor(m, 'confirm'), { providerId: 'dc-london-01', itemId: 'flex-20260115-sp33-34', kw: 1000 });
      const bodyB = confirmRequest(contextFor(m, 'confirm'), { providerId: 'dc-london-01', itemId: 'flex-20260115-sp33-34', kw: 1000 });
      for (const body of [bodyA, bodyB]) m.runtime.enqueue('coordination', 'handle', { action: 'confirm', body }, { id: `beckn:${body.context.message_id}`, sign: false });
      await m.runtime.settle();
      const orderId = (m.testBapInbox.find((r) => r.action === 'on_confirm')!.body as { message: { order: { id: string } } }).message.order.id;
      await send(m, 'status', statusRequest(contextFor(m, 'status'), orderId));
      await m.runtime.settle();

      const all: Recorded[] = [...m.recorded, ...m.testBapInbox];
      const actions = new Set(all.map((r) => r.action));
      for (const a of ['search', 'select', 'init', 'confirm', 'update', 'cancel', 'rating', 'on_search', 'on_select', 'on_init', 'on_confirm', 'on_status', 'on_update', 'on_cancel', 'on_rating', 'on_support']) {
        assert.ok(actions.has(a), `the run produced ${a}`);
      }
      assert.ok(all.some((r) => r.action === 'on_confirm' && (r.body as { error?: unknown }).error), 'an error callback was produced');
      assert.ok(all.some((r) => r.action === 'on_status' && JSON.stringify(r.body).includes('"settlement"')), 'a completion push with settlement was produced');
      for (const r of all) {
        assert.deepEqual(spec.validateRequest(r.action, r.body, 'strict'), [], `${r.action} (strict spec): ${JSON.stringify(r.body).slice(0, 300)}`);
        const ours = decodeBecknBody(r.action as BecknAction, r.body);
        assert.ok(ours.ok, `${r.action} (CACO schema): ${ours.ok ? '' : JSON.stringify(ours.problems)}`);
      }
      assert.ok(all.length >= 25, `${all.length} messages checked`);
    } finally {
      await m.close();
    }
  });
});
