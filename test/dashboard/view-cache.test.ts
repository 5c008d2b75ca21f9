// test-file-timeout: 90
/**
 * The dashboard rebuilt its whole view (every day's settlement statement, a sort of every job)
 * on every push, every event-stream connection and every /api/view call, listed a settlement
 * row per day forever, took any number of event streams, and explained jobs for anyone as
 * often as asked (~0.6 s each). Now: one view per ledger position and verification, shared by
 * all; closed days' statements kept until a late event for that day arrives; the last N days
 * listed with totals over all; a cap on streams (503, Retry-After); per-address rate limits
 * on explanations (429, Retry-After), as on the site's GET /jobs/:id.
 */
import { describe, test } from 'node:test';
import { connect, type Socket } from 'node:net';
import assert from 'node:assert/strict';
import { settlementPeriodOf } from '../../core/time/index.ts';
import { startDashboard } from '../../dashboard/index.ts';
import { dashboardView, type Verification } from '../../dashboard/view.ts';
import { SettlementDays } from '../../dashboard/settlement-days.ts';
import { silentLogger } from '../../core/log/index.ts';
import { costByDay } from '../../projections/cost/index.ts';
import { dayStatement } from '../../projections/settlement/index.ts';
import { evolveReadModel, loadReadModel, type ReadModel } from '../../projections/index.ts';
import type { EventStore } from '../../core/store/index.ts';
import { embeddedStack } from '../support/embedded.ts';
import { FIXTURE_START_MS, FixtureWriter, tick, writeFixtureLedger } from '../sim/report/fixture.ts';

const ver: Verification = { state: 'ok', running: false, events: 0, headHash: null, checkedAt: null, detail: null };
const SLOT = 1_800_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The model brought up to the store's head by folding only the events after `m`'s position. */
async function catchUp(store: EventStore, m: ReadModel): Promise<ReadModel> {
  let next = m;
  for await (const e of store.readAll({ from: m.audit.lastPosition })) next = evolveReadModel(next, e);
  return next;
}

/** A corrected meter read for slot k (it replaces the first: same meter, same half-hour). */
async function correctedRead(w: FixtureWriter, k: number, importKwh: number): Promise<void> {
  const t = FIXTURE_START_MS + k * SLOT;
  await w.append('meter-main', 'compute', 'site.meter.read', t + 40 * SLOT, {
    periodStart: iso(t), ...settlementPeriodOf(t), itKwh: importKwh / 1.15, importKwh, batteryChargeKwh: 0, batteryDischargeKwh: 0, batterySocKwh: 2500,
    carbonGPerKwh: 150, priceGbpPerMwh: 60, byClassKwh: { training: 0, 'batch-inference': 0, serving: importKwh / 1.15 }, signals: 'observed', jobs: [],
  });
}

/** Opens /api/stream: a stream served is kept open (its controller in `open`, to abort), a refusal is read whole. */
function streamOpener(url: string, open: AbortController[]): () => Promise<Response> {
  return async () => {
    const ctl = new AbortController();
    const r = await fetch(`${url}/api/stream`, { signal: ctl.signal });
    if (r.status === 200) open.push(ctl);
    else await r.text();
    return r;
  };
}

describe('the dashboard view is built once per change and bounded', { timeout: 90_000 }, () => {
  test('a late read recomputes its own closed day only; the last N days are listed, totals cover all', async () => {
    const s = embeddedStack('dash-days');
    try {
      const w = await writeFixtureLedger(s.store, 60, 'dd');
      let m = await loadReadModel(s.store);
      const dates = costByDay(m.cost).map((d) => d.settlementDate);
      assert.deepEqual(dates, ['2023-07-03', '2023-07-04']);
      const days = new SettlementDays();
      const v1 = dashboardView(m, ver, { settlementDays: 1 }, days);
      assert.equal(days.computed, 2);
      assert.deepEqual(v1.settlement.map((d) => d.settlementDate), ['2023-07-04'], 'only the last day is listed');
      const fresh = (mm: ReadModel, d: string) => dayStatement(mm.settlement, d).totals;
      assert.equal(v1.settlementTotals.days, 2);
      assert.equal(v1.settlementTotals.listed, 1);
      assert.equal(v1.settlementTotals.flexNetGbp, fresh(m, '2023-07-03').netGbp + fresh(m, '2023-07-04').netGbp);
      assert.ok(v1.settlementTotals.flexNetGbp > 0, 'the order settled on the first day counts in the totals though its day is not listed');
      assert.equal(v1.settlementTotals.energyCostGbp, costByDay(m.cost).reduce((a, d) => a + d.costGbp, 0));

      // Nothing changed: nothing recomputed.
      dashboardView(m, ver, {}, days);
      assert.equal(days.computed, 2);

      // A read of the open day recomputes that day only.
      await correctedRead(w, 58, 5000);
      m = await catchUp(s.store, m);
      dashboardView(m, ver, {}, days);
      assert.equal(days.computed, 3);

      // A late correction inside the first day's settled order window: that day, and only it, again.
      const before = dashboardView(m, ver, {}, days).settlement;
      await correctedRead(w, 8, 3000);
      m = await catchUp(s.store, m);
      const after = dashboardView(m, ver, {}, days);
      assert.equal(days.computed, 4);
      const first = after.settlement.find((d) => d.settlementDate === '2023-07-03')!;
      assert.equal(first.flexDeliveredMwh, fresh(m, '2023-07-03').deliveredMwh);
      assert.equal(first.flexNetGbp, fresh(m, '2023-07-03').netGbp);
      assert.notEqual(first.flexNetGbp, before.find((d) => d.settlementDate === '2023-07-03')!.flexNetGbp, 'the correction changed the day');
    } finally {
      await s.close();
    }
  });

  test('one view per ledger position: pushes, streams and /api/view share it until the ledger changes', async () => {
    const s = embeddedStack('dash-once');
    const w = new FixtureWriter(s.store, 'do');
    for (let k = 0; k < 8; k++) await tick(w, k);
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, pushEveryMs: 1, verifyEveryMs: 50, log: silentLogger() });
    try {
      assert.equal((await dash.live.verifiedUpTo(dash.live.model.audit.events)).state, 'ok');
      const v = dash.view();
      const bodies = await Promise.all([1, 2].map(async () => (await fetch(`${dash.url}/api/view`)).text()));
      assert.equal(dash.view(), v, 'the same view, not a rebuilt one');
      for (const b of bodies) assert.equal(b, JSON.stringify(v));
      const position = v.position;
      await tick(w, 8);
      for (let i = 0; i < 250 && dash.view().position === position; i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(dash.view().position > position, 'a change makes a new view');
    } finally {
      await dash.close();
      await s.close();
    }
  });

  test('past the stream cap a 503 with Retry-After; explanations are rate-limited per address', async () => {
    const s = embeddedStack('dash-caps');
    const w = new FixtureWriter(s.store, 'dc');
    for (let k = 0; k < 4; k++) await tick(w, k);
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, verifyEveryMs: 600_000, log: silentLogger(), maxStreams: 2, explainRate: { perSecond: 1, burst: 2 }, now: () => 1_000_000 });
    const open: AbortController[] = [];
    try {
      const stream = streamOpener(dash.url, open);
      assert.equal((await stream()).status, 200);
      assert.equal((await stream()).status, 200);
      const refused = await stream();
      assert.equal(refused.status, 503);
      assert.equal(refused.headers.get('retry-after'), '10');
      // A stream that ends frees its place.
      open.shift()!.abort();
      let again = 0;
      for (let i = 0; i < 100 && again !== 200; i++) {
        await new Promise((r) => setTimeout(r, 20));
        again = (await stream()).status;
      }
      assert.equal(again, 200);

      const explain = () => fetch(`${dash.url}/api/jobs/no-such-job/explain`).then(async (r) => ({ status: r.status, retry: r.headers.get('retry-after'), body: await r.text() }));
      assert.equal((await explain()).status, 404);
      assert.equal((await explain()).status, 404);
      const limited = await explain();
      assert.equal(limited.status, 429, limited.body);
      assert.equal(limited.retry, '1');
      assert.match(limited.body, /rate limit/);
    } finally {
      for (const c of open) c.abort();
      await dash.close();
      await s.close();
    }
  });

  test('--max-streams past the per-address connection share: every stream is served, and the page and /api/view still answer', async () => {
    // A helper's review: from one address (any loopback browser) the 65th connection was reset
    // before it was read, so the 503 was never reached and the page itself could not load.
    const s = embeddedStack('dash-share');
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, verifyEveryMs: 600_000, log: silentLogger(), maxStreams: 90 });
    const open: AbortController[] = [];
    try {
      const stream = async () => (await streamOpener(dash.url, open)()).status;
      const statuses = await Promise.all(Array.from({ length: 90 }, stream));
      assert.deepEqual([...new Set(statuses)], [200]);
      assert.equal((await fetch(`${dash.url}/api/view`).then(async (r) => (await r.text(), r.status))), 200);
      assert.equal((await fetch(`${dash.url}/`).then(async (r) => (await r.text(), r.status))), 200);
      assert.equal(await stream(), 503, 'past --max-streams the refusal is an answer');
    } finally {
      for (const c of open) c.abort();
      await dash.close();
      await s.close();
    }
  });
  test('CACO_HTTP_CONNECTIONS set by the operator holds for the dashboard as set', async () => {
    const before = process.env['CACO_HTTP_CONNECTIONS'];
    process.env['CACO_HTTP_CONNECTIONS'] = '1024:4';
    const s = embeddedStack('dash-env');
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, verifyEveryMs: 600_000, log: silentLogger() });
    const sockets: Socket[] = [];
    try {
      const { port } = new URL(dash.url);
      const closed = await Promise.all(
        Array.from({ length: 8 }, () => new Promise<boolean>((resolve) => {
          const c = connect(Number(port), '127.0.0.1');
          sockets.push(c);
          const t = setTimeout(() => resolve(false), 1500);
          c.on('close', () => { clearTimeout(t); resolve(true); });
          c.on('error', () => undefined);
        })),
      );
      assert.equal(closed.filter(Boolean).length, 4, 'past 4 from one address, new connections are closed');
    } finally {
      for (const c of sockets) c.destroy();
      if (before === undefined) delete process.env['CACO_HTTP_CONNECTIONS'];
      else process.env['CACO_HTTP_CONNECTIONS'] = before;
      await dash.close();
      await s.close();
    }
  });
});
