import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GENESIS_HASH, type Envelope } from '../../core/envelope/index.ts';
import { verifiedView } from '../../core/store/index.ts';
import { silentLogger } from '../../core/log/index.ts';
import { replayLedger } from '../../cli/replay.ts';
import { SiteReadModel } from '../../cli/site-read-model.ts';
import { fold, projectReadModel, readOf, Skipped, type ReadModelEvent } from '../../projections/index.ts';
import { auditProjection, auditSummary, unreadLines } from '../../projections/audit/index.ts';
import { scheduleProjection } from '../../projections/schedule/index.ts';
import { carbonProjection } from '../../projections/carbon/index.ts';
import { costProjection } from '../../projections/cost/index.ts';
import { flexibilityProjection } from '../../projections/flexibility/index.ts';
import { forecastProjection } from '../../projections/forecast/index.ts';
import { settlementProjection } from '../../projections/settlement/index.ts';
import { embeddedStack } from '../support/embedded.ts';
import { writeFixtureLedger } from '../sim/report/fixture.ts';

const T = '2023-07-03T10:00:00.000Z';

/** Events a newer release (or anyone able to write the type) could put on a shared ledger: signed, verified, and of a shape this release does not know. */
const hostile: ReadonlyArray<readonly [stream: string, type: string, version: number, data: unknown]> = [
  ['plan-main', 'compute.plan.published', 2, { planId: 'p-v2', startsAt: T, horizon: { slots: [] } }],
  ['order-order-1', 'flex.order.fulfilled', 2, { orderId: 'order-1', delivered: { mwh: 1 } }],
  ['job-trn-1', 'compute.job.planned', 1, { jobId: 'trn-1', plan: { start: T } }],
  ['meter-main', 'site.meter.read', 2, { periodStart: '2023-07-03T01:00:00Z', importKwh: 99999, meterId: 'm2' }],
];

async function ledger(extra: boolean) {
  const s = embeddedStack(extra ? 'unread-hostile' : 'unread-clean');
  await writeFixtureLedger(s.store, 20);
  if (extra) {
    for (const [stream, type, version, data] of hostile) {
      await s.store.append(stream, [{ id: `hostile-${type}-${version}`, type, version, time: T, source: 'compute', correlationId: 'c', causationId: null, data } as never], 'any');
    }
  }
  return s;
}

describe('projections read only the versions and shapes they handle', { timeout: 60_000 }, () => {
  test('replay skips and counts events of an unknown version or shape, and its numbers are those of the ledger without them', async () => {
    const clean = await ledger(false);
    const dirty = await ledger(true);
    try {
      const a = await replayLedger(verifiedView(clean.store, clean.keyring, silentLogger()));
      const b = await replayLedger(verifiedView(dirty.store, dirty.keyring, silentLogger()));
      assert.deepEqual(b.schedule, a.schedule);
      assert.deepEqual(b.flexibility, a.flexibility);
      assert.ok(Number.isFinite(b.flexibility.netGbp));
      assert.deepEqual(b.cost, a.cost);
      assert.deepEqual(b.carbon, a.carbon);
      assert.equal(a.audit.projections.complete, true);
      const p = b.audit.projections;
      assert.equal(p.complete, false);
      assert.equal(p.skipped, hostile.length);
      assert.deepEqual(p.skippedByType, { 'compute.job.planned@1': 1, 'compute.plan.published@2': 1, 'flex.order.fulfilled@2': 1, 'site.meter.read@2': 1 });
      assert.deepEqual(p.skippedFirst.map((x) => x.eventId).sort(), hostile.map(([, type, version]) => `hostile-${type}-${version}`).sort());
      assert.match(unreadLines(p)[0]!, /^4 events skipped by the projections: compute\.job\.planned@1 ×1, compute\.plan\.published@2 ×1/);
      // Every event is still counted where the ledger is described.
      assert.equal(b.events, a.events + hostile.length);
      assert.equal(b.audit.events, b.events);
    } finally {
      await clean.close();
      await dirty.close();
    }
  });

  test('the gateway read model skips them too, logs, and keeps following', async () => {
    const s = await ledger(true);
    const model = new SiteReadModel(silentLogger());
    try {
      await model.follow(verifiedView(s.store, s.keyring, silentLogger()));
      assert.equal(model.skipped.get('compute.plan.published@2'), 1);
      assert.equal(model.failed, 0);
      assert.ok(model.schedule.jobs.size > 0);
    } finally {
      await model.close();
      await s.close();
    }
  });

  test('an event of an older version is upcast to the one a projection reads; one of a version it does not read is skipped with why', () => {
    const v1 = { id: 'e1', type: 'compute.job.submitted', version: 1, data: { jobId: 'a', class: 'training', powerKw: 10, gpuCount: null, runtimeMin: 60, runtimeSource: 'given', runtimeModel: null, earliestStart: T, deadline: '2023-07-03T20:00:00.000Z', slaClass: 'gold', preemptible: true } } as const;
    const read = readOf(scheduleProjection, v1 as never);
    assert.ok(read !== null && !(read instanceof Skipped));
    assert.equal(read.version, 2);
    assert.equal((read.data as { submittedBy: unknown }).submittedBy, null);
    const v9 = readOf(scheduleProjection, { ...v1, version: 9 } as never);
    assert.ok(v9 instanceof Skipped);
    assert.equal(v9.key, 'compute.job.submitted@9');
    assert.equal(v9.eventId, 'e1');
    const bad = readOf(scheduleProjection, { ...v1, version: 2, data: { jobId: 'a' } } as never);
    assert.ok(bad instanceof Skipped);
    assert.match(bad.reason, /does not decode as v2/);
    assert.equal(readOf(scheduleProjection, { type: 'x.y.z', version: 1, data: {} } as never), null);
  });

  test('events of an unknown version or undecodable shape, anywhere in a ledger, change no projection and are each counted', async () => {
    const s = await ledger(false);
    const clean: Envelope[] = [];
    try {
      for await (const e of verifiedView(s.store, s.keyring, silentLogger()).readAll()) clean.push(e);
    } finally {
      await s.close();
    }
    const base = projectReadModel(clean);
    const types = [...new Set(clean.map((e) => e.type))];
    const parts = [scheduleProjection, carbonProjection, costProjection, flexibilityProjection, forecastProjection, settlementProjection];
    const readTypes = new Set(parts.flatMap((p) => (p.handles === 'all' ? [] : p.handles.map((d) => d.type))));
    const junk = fc.record({
      type: fc.constantFrom(...types),
      version: fc.oneof(fc.integer({ min: 1, max: 6 }), fc.constant(1)),
      data: fc.oneof(fc.anything(), fc.dictionary(fc.string(), fc.anything())).map((x) => ({ junk: x })),
      at: fc.nat(clean.length),
    });
    fc.assert(
      fc.property(fc.array(junk, { maxLength: 8 }), (xs) => {
        const events: ReadModelEvent[] = [...clean];
        xs.forEach((x, i) => {
          const e: Envelope = { id: `junk-${i}`, type: x.type, version: x.version, stream: `junk-${i}`, revision: 0, position: 0, time: T, source: 'x', correlationId: 'c', causationId: null, data: x.data, prevHash: GENESIS_HASH, hash: 'f'.repeat(64), sig: 'x' };
          events.splice(Math.min(x.at + i, events.length), 0, e);
        });
        const m = projectReadModel(events);
        for (const k of ['schedule', 'carbon', 'cost', 'flexibility', 'forecast', 'settlement'] as const) assert.deepEqual(m[k], base[k], k);
        // Each junk event of a type some projection reads is skipped once; the rest are not read at all.
        assert.equal(m.audit.unread.skipped, xs.filter((x) => readTypes.has(x.type)).length);
        assert.equal(m.audit.events, events.length);
      }),
      { numRuns: 40 },
    );
  });

  test('a type named like an Object.prototype member is counted as any other', () => {
    const ev = (i: number, type: string) => ({ id: `p${i}`, type, version: 1, stream: `s${i}`, revision: 0, position: i + 1, time: T, data: {}, prevHash: GENESIS_HASH, hash: 'a'.repeat(64) });
    const types = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'constructor'];
    const a = auditSummary(fold(auditProjection, types.map((t, i) => ev(i, t))));
    assert.equal(Object.getPrototypeOf(a.byType), Object.prototype);
    assert.deepEqual(Object.entries(a.byType), [['__proto__', 1], ['constructor', 2], ['hasOwnProperty', 1], ['toString', 1]]);
    assert.equal(JSON.stringify(a.byType), '{"__proto__":1,"constructor":2,"hasOwnProperty":1,"toString":1}');
  });
});
