import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { verifyLedger } from '../../../core/ledger/index.ts';
import { siteConfig } from '../../../agents/compute/jobs/index.ts';
import { carbonByClass } from '../../../projections/carbon/index.ts';
import { costByDay, costPeriods } from '../../../projections/cost/index.ts';
import { flexTotals } from '../../../projections/flexibility/index.ts';
import { dayStatement, periodLines } from '../../../projections/settlement/index.ts';
import { writeReport } from '../../../sim/report.ts';
import { loadReadModel } from '../../../projections/index.ts';
import type { ReportData } from '../../../sim/report/index.ts';
import type { PolicyTotals } from '../../../sim/results.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { launchChromium } from '../../dashboard/chromium.ts';
import { carbonAt, FIXTURE_PUE, FIXTURE_START_MS, priceAt, writeFixtureLedger } from './fixture.ts';

const SLOT = 1_800_000;
const row = (policy: string, energyCostGbp: number): PolicyTotals => ({ policy, energyCostGbp, carbonT: 1, avgGPerKwh: 100, siteEnergyMwh: 10, flexDeliveredMwh: 0, flexEarnedGbp: 0, flexContractedMwh: 0, flexOrdersSettled: 0, slaMisses: 0, gbpPerGpuHour: 0.05 });

/** The fixture ledger, reported: returns the written files and the projections they came from. */
async function reported() {
  const s = embeddedStack('report');
  const out = mkdtempSync(join(tmpdir(), 'caco-report-'));
  await writeFixtureLedger(s.store, 60);
  // A genuine event from a newer release: the projections skip it, and the page says so.
  await s.store.append('plan-newer', [{ id: '0190f0e0-0000-7000-8000-0000000000aa', type: 'compute.plan.published', version: 9, time: new Date(FIXTURE_START_MS).toISOString(), source: 'compute', correlationId: 'c-newer', causationId: null, data: { shape: 'newer' } }], 'any');
  const audit = await verifyLedger(s.store, s.keyring);
  const site = { ...siteConfig(), pue: FIXTURE_PUE };
  const baseline = { policy: 'run on arrival', startMs: FIXTURE_START_MS, siteKw: Array.from({ length: 60 }, (_, k) => 1000 + k) };
  const returned = await writeReport({ dir: out, run: 'fixture', store: s.store, rows: [row('run on arrival (baseline)', 120), { ...row('CACO (agents, forecasts, market)', 100), startSocKwh: 2500, finalSocKwh: 2400, battery: { meterKwh: 105, gbp: 8.4, carbonT: 0.013, adjustedEnergyCostGbp: 108.4, adjustedCarbonT: 1.013 } }, row('perfect-foresight optimum', 90)], audit, site, fromMs: FIXTURE_START_MS, days: 1, seed: '7', jobs: 4, wallMs: 1234, baseline });
  const model = await loadReadModel(s.store);
  const html = readFileSync(join(out, 'report.html'), 'utf8');
  const json = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportData;
  const m = html.match(/<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/);
  assert.ok(m, 'the report embeds its data');
  const embedded = JSON.parse(m[1]!) as ReportData;
  return { s, out, audit, model, html, json, embedded, returned, baseline, close: async () => { await s.close(); rmSync(out, { recursive: true, force: true }); } };
}

describe('report', () => {
  test('report.json and the data embedded in report.html are the same, and equal the projections', async () => {
    const r = await reported();
    try {
      const { embedded: d, model } = r;
      assert.deepEqual(d, r.json);
      assert.deepEqual(d, JSON.parse(JSON.stringify(r.returned)));
      // Ledger: the fold's head hash is verifyLedger's.
      assert.equal(d.ledger.headHash, r.audit.headHash);
      assert.equal(d.ledger.events, r.audit.events);
      assert.equal(d.ledger.verified!.ok, true);
      // Half-hours: the run's day, then whatever was metered after (59 half-hours were metered).
      assert.equal(d.halfHours[0], new Date(FIXTURE_START_MS).toISOString());
      assert.equal(d.halfHours.length, 59);
      // Forecast vs actual: actuals are the observed values; the day-ahead P50 is the forecast issued 24 h before.
      for (let i = 0; i < 59; i++) {
        const t = FIXTURE_START_MS + i * SLOT;
        assert.equal(d.forecast.carbon.actual[i], carbonAt(t));
        assert.equal(d.forecast.price.actual[i], priceAt(t));
      }
      const k48 = 47; // 23:30Z: forecasts are issued every 2 h, so the closest to 24 h ahead was issued at 00:00Z (lead 23.5 h)
      assert.equal(d.forecast.carbon.p50[k48], carbonAt(FIXTURE_START_MS + k48 * SLOT) + 5);
      assert.equal(d.forecast.carbon.p90[k48]! - d.forecast.carbon.p10[k48]!, 40);
      assert.equal(d.forecast.carbon.p50[10], null, 'no forecast was issued ~24 h before 05:00Z on the first day');
      // Load: IT by class × PUE, import and battery from the meter; the baseline as given.
      const cp = costPeriods(model.cost);
      for (const p of cp) {
        const i = d.halfHours.indexOf(p.periodStart);
        if (i < 0) continue;
        assert.equal(d.load.siteImportKw[i], p.importKwh / 0.5);
        assert.equal(d.battery.socKwh[i], p.batterySocKwh);
      }
      assert.equal(d.load.facilityKwByClass.training[2], 4000 * FIXTURE_PUE);
      assert.equal(d.load.facilityKwByClass.serving[2], 800 * FIXTURE_PUE);
      assert.equal(d.load.batteryChargeKw[20], 1000);
      assert.equal(d.load.baseline!.siteKw[5], r.baseline.siteKw[5]);
      // Flexibility: sold and delivered kW per half-hour are the settlement projection's.
      for (const k of [8, 9]) {
        const lines = periodLines(model.settlement, FIXTURE_START_MS + k * SLOT);
        assert.equal(d.flexibility.soldKw[k], lines.reduce((a, l) => a + l.contractedKw * l.activeFraction, 0));
        assert.equal(d.flexibility.deliveredKw[k], lines.reduce((a, l) => a + l.deliveredKw, 0));
      }
      assert.ok(d.flexibility.deliveredKw[8]! > 0);
      assert.equal(d.flexibility.soldKw[12], null);
      assert.deepEqual(d.flexibility.totals, flexTotals(model.flexibility));
      assert.equal(d.flexibility.orders[0]!.status, 'fulfilled');
      assert.equal(d.flexibility.stress.length, 1);
      // Settlement per day and carbon per class.
      assert.deepEqual(d.settlementByDay.map((x) => [x.settlementDate, x.energyCostGbp, x.flexNetGbp]), costByDay(model.cost).map((x) => [x.settlementDate, x.costGbp, dayStatement(model.settlement, x.settlementDate).totals.netGbp]));
      assert.deepEqual(d.carbonByClass, JSON.parse(JSON.stringify(carbonByClass(model.carbon))));
      assert.equal(d.totals.length, 3);
    } finally {
      await r.close();
    }
  });

  test('the page shows the table and head hash, and links nothing outside itself', async () => {
    const r = await reported();
    try {
      const { html } = r;
      assert.match(html, /<table id="summary">/);
      assert.match(html, /<dd id="unread"><span class="bad">incomplete<\/span> 1 event skipped by the projections: compute\.plan\.published@9 ×1 \(first: event 0190f0e0-0000-7000-8000-0000000000aa, /);
      assert.ok(html.includes(r.audit.headHash));
      for (const policy of ['run on arrival (baseline)', 'CACO (agents, forecasts, market)', 'perfect-foresight optimum']) assert.ok(html.includes(`<td>${policy}</td>`), policy);
      // A row that ends with less in the battery is shown with that charge valued, as the printed table does.
      assert.ok(html.includes('<th>adj. energy £</th>'));
      assert.ok(html.includes('<td>CACO (agents, forecasts, market)</td><td>100</td><td>1.00</td><td>100.0</td><td>10.0</td><td>0.00</td><td>0</td><td>0</td><td>2,400</td><td>108</td><td>1.01</td>'), html.match(/<tr class="caco">.*?<\/tr>/)?.[0]);
      assert.doesNotMatch(html, /<script[^>]+src=/i, 'scripts are inlined');
      assert.doesNotMatch(html, /<link[^>]+href=/i, 'styles are inlined');
      assert.doesNotMatch(html, /<(img|iframe|source|video|audio)[^>]+src=["']?(https?:)?\/\//i);
      assert.doesNotMatch(html, /url\(\s*["']?(https?:)?\/\//i);
      assert.doesNotMatch(html, /@import/i);
      // Embedded data cannot close its script element early.
      assert.equal((html.match(/<\/script>/g) ?? []).length, 4);
    } finally {
      await r.close();
    }
  });

  test('in Chromium the report draws all its charts offline, requesting nothing but itself', async (t) => {
    const browser = await launchChromium(t);
    if (!browser) return;
    const r = await reported();
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const requests: string[] = [];
      const errors: string[] = [];
      page.on('request', (q) => requests.push(q.url()));
      page.on('pageerror', (e) => errors.push(e.message));
      const url = pathToFileURL(join(r.out, 'report.html')).href;
      await page.goto(url);
      await page.waitForSelector('body[data-charts="7"]', { timeout: 20_000 });
      assert.deepEqual(errors, []);
      assert.deepEqual(requests, [url]);
      const canvases = await page.locator('.chart canvas').count();
      assert.ok(canvases >= 7, `${canvases} canvases`);
      assert.equal(await page.locator('#head-hash').textContent(), r.audit.headHash);
    } finally {
      await browser.close();
      await r.close();
    }
  });
});
