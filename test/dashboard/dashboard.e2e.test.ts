import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { explainJob } from '../../projections/explain/index.ts';
import { verifiedView } from '../../core/store/index.ts';
import { silentLogger } from '../../core/log/index.ts';
import { verifyLedger } from '../../core/ledger/index.ts';
import { startDashboard } from '../../dashboard/index.ts';
import { auditSummary } from '../../projections/audit/index.ts';
import { carbonTotals } from '../../projections/carbon/index.ts';
import { costByDay, costTotals } from '../../projections/cost/index.ts';
import { flexTotals } from '../../projections/flexibility/index.ts';
import { scheduleSummary } from '../../projections/schedule/index.ts';
import { loadReadModel, type ReadModel } from '../../projections/index.ts';
import { embeddedStack } from '../support/embedded.ts';
import { FixtureWriter, flexLifecycle, fulfilOrder, tick } from '../sim/report/fixture.ts';
import { orderStatement } from '../../projections/settlement/index.ts';
import { launchChromium } from './chromium.ts';

const OUT = fileURLToPath(new URL('./__output__/', import.meta.url));
const fmt = (v: number, d: number) => v.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });
const text = async (page: Page, sel: string) => (await page.locator(sel).textContent())?.trim();

/** Every number on the page equals the projections folded independently from the same store. */
async function assertShows(page: Page, m: ReadModel): Promise<void> {
  const a = auditSummary(m.audit);
  const s = scheduleSummary(m.schedule);
  const c = costTotals(m.cost);
  const k = carbonTotals(m.carbon);
  const f = flexTotals(m.flexibility);
  assert.equal(await text(page, '#kpi-events'), fmt(a.events, 0));
  assert.equal(await text(page, '#head-hash'), a.headHash);
  assert.equal(await text(page, '#kpi-jobs'), fmt(s.jobs, 0));
  assert.equal(await text(page, '#kpi-cost'), `£${fmt(c.costGbp, 0)}`);
  assert.equal(Number(await page.locator('#kpi-cost').getAttribute('data-value')), c.costGbp);
  assert.equal(await text(page, '#kpi-import'), `${fmt(c.importMwh, 1)} MWh imported`);
  assert.equal(await text(page, '#kpi-carbon'), `${fmt(k.carbonKg / 1000, 2)} tCO2`);
  assert.equal(Number(await page.locator('#kpi-carbon').getAttribute('data-value')), k.carbonKg);
  assert.equal(await text(page, '#kpi-flex-mwh'), `${fmt(f.deliveredMwh, 2)} MWh`);
  assert.equal(Number(await page.locator('#kpi-flex-net').getAttribute('data-value')), f.netGbp);
  assert.equal(await text(page, '#kpi-misses'), fmt(s.deadlineMisses, 0));
  const days = costByDay(m.cost);
  assert.equal(await page.locator('#settlement tbody tr').count(), days.length);
  for (const d of days) assert.equal(await text(page, `#settlement tr[data-day="${d.settlementDate}"] td.cost`), fmt(d.costGbp, 2));
}

describe('dashboard in Chromium', () => {
  test('shows the projections, updates live over SSE, explains a clicked job, verifies the ledger', async (t) => {
    const browser = await launchChromium(t);
    if (!browser) return;
    const s = embeddedStack('dash');
    const w = new FixtureWriter(s.store, 'dash');
    for (let k = 0; k < 16; k++) await tick(w, k);
    await flexLifecycle(w, { fulfil: false });
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, pushEveryMs: 100, verifyEveryMs: 100 });
    try {
      assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const external: string[] = [];
      page.on('request', (q) => { if (!q.url().startsWith(dash.url)) external.push(q.url()); });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(dash.url);

      // 1. The numbers shown are the projections'.
      const head = await s.store.headPosition();
      await page.waitForSelector(`body[data-position="${head}"]`);
      await assertShows(page, await loadReadModel(s.store));
      assert.equal(await text(page, '#orders tr[data-order="order-1"] td.st'), 'confirmed');

      // 2. The ledger verification reaches the head.
      await page.waitForSelector(`#verify[data-state="ok"][data-events="${head}"]`, { timeout: 20_000 });
      assert.equal((await verifyLedger(s.store, s.keyring)).headHash, await text(page, '#head-hash'));

      // 3. Live: more half-hours and the order's delivery arrive; the page follows without a reload.
      const updatesBefore = Number(await page.locator('body').getAttribute('data-updates'));
      for (let k = 16; k < 24; k++) await tick(w, k);
      await fulfilOrder(w);
      const head2 = await s.store.headPosition();
      assert.ok(head2 > head);
      await page.waitForSelector(`body[data-position="${head2}"]`, { timeout: 10_000 });
      assert.ok(Number(await page.locator('body').getAttribute('data-updates')) > updatesBefore);
      await assertShows(page, await loadReadModel(s.store));
      assert.equal(await text(page, '#orders tr[data-order="order-1"] td.st'), 'fulfilled');
      const settled = orderStatement((await loadReadModel(s.store)).settlement, 'order-1')!.totals;
      assert.ok(settled.deliveredMwh > 0);
      assert.equal(await text(page, '#orders tr[data-order="order-1"] td:nth-child(6)'), fmt(settled.deliveredMwh, 3));
      assert.equal(await text(page, '#settlement tfoot td:nth-child(5)'), fmt(settled.netGbp, 2));
      await page.waitForSelector(`#verify[data-state="ok"][data-events="${head2}"]`, { timeout: 20_000 });

      // 4. Click a job's bar in the Gantt chart: its explanation appears, with ledger event ids.
      const jobId = 'inf-1';
      const at = await page.evaluate((id) => {
        // Runs in the page: the browser's globals, typed here without the DOM library.
        const g = globalThis as unknown as {
          document: { getElementById(id: string): { getBoundingClientRect(): { left: number; top: number } } };
          echarts: { getInstanceByDom(el: unknown): { convertToPixel(f: object, v: [number, string]): [number, number] } };
        };
        const el = g.document.getElementById('gantt');
        const chart = g.echarts.getInstanceByDom(el);
        const r = el.getBoundingClientRect();
        // Inside the job's first run (03:00Z–04:00Z).
        const [x, y] = chart.convertToPixel({ gridIndex: 0 }, [Date.parse('2023-07-03T03:15:00Z'), id]);
        return { x: r.left + x, y: r.top + y };
      }, jobId);
      await page.mouse.click(at.x, at.y);
      await page.waitForSelector(`#explain-summary[data-job="${jobId}"]`, { timeout: 10_000 });
      const shownIds = await page.locator('#explain-steps code.event-id').allTextContents();
      const x = await explainJob(verifiedView(s.store, s.keyring, silentLogger()), jobId);
      assert.ok(x.found);
      assert.deepEqual(shownIds, x.steps.map((st) => st.eventId));
      assert.ok(shownIds.length >= 4, 'submitted, planned, started, preempted, …');
      assert.equal(await text(page, '#explain-summary'), x.summary);

      mkdirSync(OUT, { recursive: true });
      await page.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true });
      assert.deepEqual(errors, []);
      assert.deepEqual(external, [], 'the page loads nothing from outside the dashboard');
    } finally {
      await browser.close();
      await dash.close();
      await s.close();
    }
  });
  test('a refused explanation shows its reason; a page refused a live stream shows the view, says so and goes live once a place frees', { timeout: 60_000 }, async (t) => {
    // A helper's review: a 429 left the panel on "loading…" with a page error (x.steps of a
    // refusal), and a page refused a stream (503) said "reconnecting…" for ever: EventSource does
    // not retry a refused stream.
    const browser = await launchChromium(t);
    if (!browser) return;
    const s = embeddedStack('dash-refused');
    const w = new FixtureWriter(s.store, 'dr');
    for (let k = 0; k < 4; k++) await tick(w, k);
    const dash = await startDashboard({ store: s.store, keys: s.keyring, port: 0, pushEveryMs: 100, verifyEveryMs: 600_000, maxStreams: 1, explainRate: { perSecond: 0.01, burst: 1 }, log: silentLogger() });
    try {
      const a = await browser.newPage();
      const errors: string[] = [];
      a.on('pageerror', (e) => errors.push(e.message));
      await a.goto(dash.url);
      await a.waitForSelector('#conn.ok');
      const explainBy = async (id: string) => {
        await a.fill('#explain-input', id);
        await a.click('#explain-form button');
      };
      await explainBy('no-such-job');
      await a.waitForSelector('#explain-summary[data-job="no-such-job"]');
      await explainBy('no-such-job');
      await a.waitForSelector('#explain-error');
      assert.match((await text(a, '#explain-error')) ?? '', /could not explain no-such-job: .*rate limit/);

      const b = await browser.newPage();
      b.on('pageerror', (e) => errors.push(e.message));
      await b.goto(dash.url);
      await b.waitForFunction(() => (globalThis as unknown as { document: { getElementById(id: string): { textContent: string } } }).document.getElementById('conn').textContent.startsWith('not live'));
      const head = await s.store.headPosition();
      await b.waitForSelector(`body[data-position="${head}"]`, { timeout: 5_000 });
      await a.close();
      await b.waitForSelector('#conn.ok', { timeout: 20_000 });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
      await dash.close();
      await s.close();
    }
  });
});
