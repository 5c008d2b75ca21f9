import { test } from 'node:test';
import assert from 'node:assert/strict';
import { verifyLedger } from '../../core/ledger/verify.ts';
import { flexibility, HOUR, meterRead, startMarket, stress, T0 } from './harness.ts';

const at = (h: number) => T0 + h * HOUR;

/** The market's ledger depends on the seed only: not on the loopback ports, not on the wall clock. */
async function run(seed: string) {
  const m = await startMarket({ seed, coordination: { sellShare: 1 } });
  try {
    await m.emit('compute.flexibility.available', flexibility('plan-1', [{ startMs: at(4), kw: 1500, costGbpPerMwh: 60, baselineKw: 9000 }]));
    await m.emit('grid.stress.expected', stress(at(4), at(5)));
    await m.advanceTo(at(4) + HOUR / 2);
    await m.emit('site.meter.read', meterRead(at(4), 8200));
    await m.advanceTo(at(5));
    await m.emit('site.meter.read', meterRead(at(4) + HOUR / 2, 8000));
    const events = await m.events();
    const audit = await verifyLedger(m.store, m.keyring);
    return { events, audit };
  } finally {
    await m.close();
  }
}

test('same seed → same market ledger, to the head hash; no loopback port on it', async () => {
  const a = await run('det-1');
  const b = await run('det-1');
  assert.ok(a.events.some((e) => e.type === 'flex.order.fulfilled') && a.events.some((e) => e.type === 'flex.order.rated'));
  assert.deepEqual(a.events.map((e) => [e.id, e.type, e.hash]), b.events.map((e) => [e.id, e.type, e.hash]));
  assert.equal(a.audit.headHash, b.audit.headHash);
  assert.ok(a.audit.ok);
  for (const e of a.events) assert.doesNotMatch(JSON.stringify(e.data), /127\.0\.0\.1|localhost/, e.type);
});
