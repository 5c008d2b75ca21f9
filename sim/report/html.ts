import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { ReportData } from './data.ts';

/** The scripts and styles inlined into the page, so it opens offline from a file. */
export interface ReportAssets {
  readonly echartsJs: string;
  readonly chartsJs: string;
  readonly reportJs: string;
  readonly css: string;
}

const here = (f: string) => fileURLToPath(new URL(`./assets/${f}`, import.meta.url));

/**
 * ECharts' "common" build (line, bar and the components the report uses) is ~0.7 MB against
 * 1.1 MB for the full one; the report needs nothing more.
 */
export function echartsPath(build: 'common' | 'full' = 'common'): string {
  const require = createRequire(import.meta.url);
  const pkg = require.resolve('echarts/package.json');
  return pkg.replace(/package\.json$/, `dist/${build === 'common' ? 'echarts.common.min.js' : 'echarts.min.js'}`);
}

export function chartsJsPath(): string {
  return here('charts.js');
}

export function loadReportAssets(): ReportAssets {
  return {
    echartsJs: readFileSync(echartsPath('common'), 'utf8'),
    chartsJs: readFileSync(here('charts.js'), 'utf8'),
    reportJs: readFileSync(here('report.js'), 'utf8'),
    css: readFileSync(here('report.css'), 'utf8'),
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
/** JSON safe inside a <script> element: no `</script>`, no `<!--`. */
export const scriptJson = (x: unknown) => JSON.stringify(x).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
/** A script's text inside <script>: only `</script` could end it early. */
const scriptText = (js: string) => js.replace(/<\/script/gi, '<\\/script');

const n = (x: number, d = 0) => x.toLocaleString('en-GB', { minimumFractionDigits: d, maximumFractionDigits: d });

function summaryTable(d: ReportData): string {
  // Rows that end with more or less in the battery than they started with are compared with
  // that charge valued (sim/results.ts, adjustForBattery), as the printed table does.
  const battery = d.totals.some((r) => r.battery !== undefined);
  const head = ['', 'energy £', 'carbon t', 'gCO2/kWh', 'site MWh', 'flex MWh delivered', 'flex £ earned', 'SLA misses', ...(battery ? ['battery at end kWh', 'adj. energy £', 'adj. carbon t'] : []), '£ per GPU-hour'];
  const rows = d.totals.map((r) => {
    const caco = r.policy.startsWith('CACO');
    const adjusted = battery ? [r.finalSocKwh === undefined ? '–' : n(r.finalSocKwh), r.battery ? n(r.battery.adjustedEnergyCostGbp) : '–', r.battery ? n(r.battery.adjustedCarbonT, 2) : '–'] : [];
    const cells = [esc(r.policy), n(r.energyCostGbp), n(r.carbonT, 2), n(r.avgGPerKwh, 1), n(r.siteEnergyMwh, 1), n(r.flexDeliveredMwh, 2), n(r.flexEarnedGbp), String(r.slaMisses), ...adjusted, n(r.gbpPerGpuHour, 3)];
    return `<tr${caco ? ' class="caco"' : ''}>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  });
  return `<table id="summary"><thead><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

function skillTable(d: ReportData): string {
  const row = (name: string, unit: string, s: ReportData['forecast']['carbon']['skill']) =>
    `<tr><td>${name}</td><td>${s.n}</td><td>${s.maeP50 === null ? '–' : `${n(s.maeP50, 1)} ${unit}`}</td><td>${s.coverageP10P90 === null ? '–' : `${n(s.coverageP10P90 * 100, 0)} %`}</td></tr>`;
  return `<table id="skill"><thead><tr><th>day-ahead forecast</th><th>half-hours</th><th>mean abs. error of P50</th><th>actual inside P10–P90 (80 % if calibrated)</th></tr></thead><tbody>${row('carbon intensity', 'gCO2/kWh', d.forecast.carbon.skill)}${row('market index price', '£/MWh', d.forecast.price.skill)}</tbody></table>`;
}

function ledgerBlock(d: ReportData): string {
  const v = d.ledger.verified;
  const status = v === null ? '<span>not verified in this run</span>' : v.ok ? '<span class="ok">verified</span> (hash chain, hashes and signatures of every event)' : `<span class="bad">BROKEN</span> ${esc(v.firstBroken ?? '')}`;
  return `<dl class="kv" id="ledger">
<dt>events</dt><dd>${n(d.ledger.events)} in ${n(d.ledger.streams)} streams</dd>
<dt>verification</dt><dd>${status}</dd>
<dt>head hash</dt><dd class="hash" id="head-hash">${esc(d.ledger.headHash)}</dd>
${d.ledger.unread.length > 0 ? `<dt>projections</dt><dd id="unread"><span class="bad">incomplete</span> ${d.ledger.unread.map(esc).join('; ')}</dd>\n` : ''}</dl>`;
}

export function renderReportHtml(d: ReportData, a: ReportAssets): string {
  const s = d.site;
  const f = d.flexibility.totals;
  const degraded = d.forecast.degraded ? ` The grid agent reported degraded signals ${n(d.forecast.degraded)} times${d.forecast.lastDegradedReason ? ` (last: ${esc(d.forecast.lastDegradedReason)})` : ''}; the planner then used its last good forecast or a fallback.` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CACO report — ${esc(d.run)}</title>
<style>${a.css}</style>
</head>
<body>
<main>
<h1>CACO simulation report</h1>
<p class="sub">${esc(d.run)} · ${esc(d.from.slice(0, 10))} + ${d.days} days · seed ${esc(d.seed)} · ${n(s.itCapacityKw)} kW IT, PUE ${s.pue}, ${n(s.batteryKwh)} kWh / ${n(s.batteryKw)} kW battery · ${n(d.jobs)} jobs · simulated in ${n(d.wallMs / 1000, 1)} s</p>
<p class="note">Every number below is folded from the run's ledger, except the run-on-arrival and perfect-foresight rows, which come from replaying the same jobs on the same actual signals. Times on the plots are UTC; settlement days are UK local dates.</p>

<h2>Summary</h2>
${summaryTable(d)}
<p class="note">Flexibility delivered and earned come from settled orders; ${n(f.orders)} orders (${n(f.byStatus.fulfilled)} fulfilled, ${n(f.byStatus.cancelled)} cancelled) from ${n(f.offers)} offers, ${n(f.stressWindows)} grid stress windows. Deadline misses (a deadline missed, or the job finished after it): ${n(d.slaMisses)} of ${n(d.schedule.jobs)} jobs; ${n(d.schedule.moved)} jobs started later than first planned.</p>

<h2>Ledger</h2>
${ledgerBlock(d)}

<h2>Forecasts</h2>
<p class="note">For each half-hour, the CACO forecast issued about 24 h before it (within 3 h), against the observed value. ${n(d.forecast.forecastsPublished)} forecasts were published.${degraded}</p>
<div class="chart" id="chart-carbon"></div>
<div class="chart" id="chart-price"></div>
${skillTable(d)}

<h2>Site load</h2>
<p class="note">Stacked: each job class's metered IT load × PUE ${s.pue}, plus battery charging; battery discharging below zero. The black line is the metered site import; the dashed line is the run-on-arrival baseline's import on the same jobs.</p>
<div class="chart" id="chart-load"></div>
<div class="chart small" id="chart-battery"></div>

<h2>Flexibility</h2>
<div class="chart small" id="chart-flex"></div>

<h2>Settlement and carbon</h2>
<div class="grid2">
<div class="chart small" id="chart-settlement"></div>
<div class="chart small" id="chart-class"></div>
</div>
</main>
<script type="application/json" id="report-data">${scriptJson(d)}</script>
<script>${scriptText(a.echartsJs)}</script>
<script>${scriptText(a.chartsJs)}</script>
<script>${scriptText(a.reportJs)}</script>
</body>
</html>
`;
}
