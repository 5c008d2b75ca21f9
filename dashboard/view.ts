import { DAY_MS, HALF_HOUR_MS } from '../core/time/index.ts';
import { auditSummary, type AuditSummary } from '../projections/audit/index.ts';
import { carbonTotals, type CarbonTotals } from '../projections/carbon/index.ts';
import { costByDay, costTotals, type CostTotals } from '../projections/cost/index.ts';
import { flexOffers, flexOrders, flexTotals, type FlexTotals } from '../projections/flexibility/index.ts';
import { latestForecastRows } from '../projections/forecast/index.ts';
import { jobEndMs, jobStartMs, scheduleSummary, type ScheduleSummary } from '../projections/schedule/index.ts';
import type { ScheduleState, ScheduledJob } from '../projections/schedule/index.ts';
import type { ReadModel } from '../projections/index.ts';
import { SettlementDays } from './settlement-days.ts';

/**
 * What the dashboard page shows, as one JSON document built from the projections. The page
 * draws it as it is: every number it displays is here, so a test can compare the two.
 */

export interface Verification {
  /** The last finished check's result; `pending` before the first one ends. */
  readonly state: 'pending' | 'ok' | 'broken' | 'error';
  /** A check is under way (the ledger grew since the last one). */
  readonly running: boolean;
  /** Events covered by the last finished check. */
  readonly events: number;
  readonly headHash: string | null;
  readonly checkedAt: string | null;
  readonly detail: string | null;
}

export interface GanttJob {
  readonly jobId: string;
  readonly class: string;
  readonly status: string;
  readonly powerKw: number;
  readonly earliestStart: string;
  readonly deadline: string;
  readonly plannedStart: string | null;
  readonly plannedEnd: string | null;
  readonly runs: ReadonlyArray<{ readonly start: string; readonly end: string | null }>;
  readonly late: boolean;
  readonly deadlineMissed: boolean;
}

export interface DashboardView {
  readonly position: number;
  /** The ledger's latest event time: "now" for a simulated run as for a live one. */
  readonly now: string | null;
  readonly audit: AuditSummary;
  readonly verification: Verification;
  readonly schedule: ScheduleSummary;
  readonly gantt: { readonly from: string; readonly to: string; readonly total: number; readonly jobs: ReadonlyArray<GanttJob> };
  readonly forecast: {
    readonly forecastId: string | null;
    readonly issuedAt: string | null;
    readonly models: string | null;
    readonly published: number;
    readonly degraded: number;
    readonly lastDegraded: string | null;
    readonly times: ReadonlyArray<string>;
    readonly carbon: { readonly actual: ReadonlyArray<number | null>; readonly p10: ReadonlyArray<number | null>; readonly p50: ReadonlyArray<number | null>; readonly p90: ReadonlyArray<number | null> };
    readonly price: { readonly actual: ReadonlyArray<number | null>; readonly p10: ReadonlyArray<number | null>; readonly p50: ReadonlyArray<number | null>; readonly p90: ReadonlyArray<number | null> };
  };
  readonly flexibility: {
    readonly totals: FlexTotals;
    readonly orders: ReadonlyArray<{
      readonly orderId: string;
      readonly status: string;
      readonly windowStart: string;
      readonly windowEnd: string;
      readonly kw: number;
      readonly priceGbpPerMwh: number;
      readonly deliveredMwh: number | null;
      readonly netGbp: number | null;
    }>;
    readonly openOffers: number;
    readonly available: ReadonlyArray<{ readonly windowStart: string; readonly windowEnd: string; readonly kw: number; readonly marginalCostGbpPerMwh: number }>;
  };
  /** The last `settlementDays` days, oldest first. */
  readonly settlement: ReadonlyArray<SettlementDay>;
  /** Over every day settled, listed or not. */
  readonly settlementTotals: Omit<SettlementDay, 'settlementDate'> & { readonly days: number; readonly listed: number; readonly from: string | null; readonly to: string | null };
  readonly carbon: CarbonTotals;
  readonly cost: CostTotals;
}

export interface SettlementDay {
  readonly settlementDate: string;
  readonly importMwh: number;
  readonly energyCostGbp: number;
  readonly flexDeliveredMwh: number;
  readonly flexNetGbp: number;
}

export interface ViewOptions {
  /** Gantt window around "now" (default 24 h back, 24 h ahead) and row limit (default 60). */
  readonly ganttBackMs?: number;
  readonly ganttAheadMs?: number;
  readonly ganttLimit?: number;
  /** Orders listed, newest windows first (default 30). */
  readonly ordersLimit?: number;
  /** Settlement days listed, the latest (default 14); the totals cover every day. */
  readonly settlementDays?: number;
}

/**
 * Each job's start and end, parsed once per version of the job: the schedule's fold replaces a
 * job's object when it changes, so an unchanged job is never parsed again.
 */
const spans = new WeakMap<ScheduledJob, { readonly start: number; readonly end: number }>();

/**
 * Jobs whose plan or runs touch [fromMs, toMs), in start order: what `ganttJobs` answers, but
 * sorting the hits only (ganttJobs sorts every job, parsing their times in the comparator).
 */
function ganttWindow(s: ScheduleState, fromMs: number, toMs: number, limit: number): { readonly jobs: ScheduledJob[]; readonly total: number } {
  const hits: Array<{ readonly j: ScheduledJob; readonly start: number }> = [];
  for (const j of s.jobs.values()) {
    let span = spans.get(j);
    if (!span) {
      span = { start: jobStartMs(j), end: jobEndMs(j) };
      spans.set(j, span);
    }
    if (span.start < toMs && span.end >= fromMs) hits.push({ j, start: span.start });
  }
  hits.sort((a, b) => a.start - b.start || (a.j.jobId < b.j.jobId ? -1 : 1));
  return { jobs: hits.slice(0, limit).map((h) => h.j), total: hits.length };
}

const r2 = (x: number): number => Math.round(x * 100) / 100 + 0;
const r6 = (x: number): number => Math.round(x * 1e6) / 1e6 + 0;

/** Kept between calls that pass none, so repeated views of one model share the day statements. */
const sharedDays = new SettlementDays();

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * `days` keeps closed days' settlement statements between calls (see SettlementDays); a server
 * holds its own, and calls that pass none share one.
 */
export function dashboardView(m: ReadModel, verification: Verification, o: ViewOptions = {}, days: SettlementDays = sharedDays): DashboardView {
  const audit = auditSummary(m.audit);
  const nowMs = audit.lastTime ? Date.parse(audit.lastTime) : Date.now();
  const from = nowMs - (o.ganttBackMs ?? DAY_MS);
  const to = nowMs + (o.ganttAheadMs ?? DAY_MS);
  const g = ganttWindow(m.schedule, from, to, o.ganttLimit ?? 60);

  // Forecast chart: the last 24 h of observations, then the latest forecast's 48 h.
  const rows = latestForecastRows(m.forecast);
  const fStart = rows.length ? Date.parse(rows[0]!.periodStart) : Math.floor(nowMs / HALF_HOUR_MS) * HALF_HOUR_MS;
  const tFrom = fStart - 48 * HALF_HOUR_MS;
  const tTo = Math.max(fStart + rows.length * HALF_HOUR_MS, fStart);
  const times: string[] = [];
  for (let t = tFrom; t < tTo; t += HALF_HOUR_MS) times.push(iso(t));
  const byTime = new Map(rows.map((r) => [r.periodStart, r]));
  const actual = (k: 'carbonGPerKwh' | 'priceGbpPerMwh') => times.map((t) => m.forecast.observed.get(t)?.[k] ?? null);
  const band = (k: 'carbon' | 'price', q: 'p10' | 'p50' | 'p90') => times.map((t) => byTime.get(t)?.[k][q] ?? null);
  const f = m.forecast.latest;

  const orders = flexOrders(m.flexibility)
    .reverse()
    .slice(0, o.ordersLimit ?? 30)
    .map((x) => ({ orderId: x.orderId, status: x.status, windowStart: x.windowStart, windowEnd: x.windowEnd, kw: x.kw, priceGbpPerMwh: x.priceGbpPerMwh, deliveredMwh: x.settled?.deliveredMwh ?? null, netGbp: x.settled?.netGbp ?? null }));
  const byDay = costByDay(m.cost);
  const statements = days.totals(m.settlement, byDay.map((d) => d.settlementDate));
  const settlementRows: SettlementDay[] = byDay.map((d, i) => ({ settlementDate: d.settlementDate, importMwh: d.importMwh, energyCostGbp: d.costGbp, flexDeliveredMwh: statements[i]!.deliveredMwh, flexNetGbp: statements[i]!.netGbp }));
  const keep = Math.max(0, Math.floor(o.settlementDays ?? 14));
  const listed = keep === 0 ? [] : settlementRows.slice(-keep);
  const sum = (k: 'importMwh' | 'energyCostGbp' | 'flexDeliveredMwh' | 'flexNetGbp') => settlementRows.reduce((a, d) => a + d[k], 0);
  const openOffers = flexOffers(m.flexibility).filter((x) => x.orderIds.length === 0 && Date.parse(x.validUntil) > nowMs).length;

  return {
    position: audit.lastPosition,
    now: audit.lastTime,
    audit,
    verification,
    schedule: scheduleSummary(m.schedule),
    gantt: {
      from: iso(from),
      to: iso(to),
      total: g.total,
      jobs: g.jobs.map((j) => ({
        jobId: j.jobId,
        class: j.class,
        status: j.status,
        powerKw: j.powerKw,
        earliestStart: j.earliestStart,
        deadline: j.deadline,
        plannedStart: j.plannedStart,
        plannedEnd: j.plannedEnd,
        runs: j.runs.map((r) => ({ start: r.start, end: r.end })),
        late: j.late,
        deadlineMissed: j.deadlineMissed,
      })),
    },
    forecast: {
      forecastId: f?.forecastId ?? null,
      issuedAt: f?.issuedAt ?? null,
      models: f ? `${f.carbonModel}, ${f.priceModel}` : null,
      published: m.forecast.published,
      degraded: m.forecast.degraded,
      lastDegraded: m.forecast.lastDegraded?.reason ?? null,
      times,
      carbon: { actual: actual('carbonGPerKwh'), p10: band('carbon', 'p10'), p50: band('carbon', 'p50'), p90: band('carbon', 'p90') },
      price: { actual: actual('priceGbpPerMwh'), p10: band('price', 'p10'), p50: band('price', 'p50'), p90: band('price', 'p90') },
    },
    flexibility: {
      totals: flexTotals(m.flexibility),
      orders,
      openOffers,
      available: (m.flexibility.available?.windows ?? []).map((w) => ({ windowStart: w.windowStart, windowEnd: w.windowEnd, kw: w.kw, marginalCostGbpPerMwh: w.marginalCostGbpPerMwh })),
    },
    settlement: listed,
    settlementTotals: {
      from: settlementRows[0]?.settlementDate ?? null,
      to: settlementRows.at(-1)?.settlementDate ?? null,
      days: settlementRows.length,
      listed: listed.length,
      importMwh: sum('importMwh'),
      energyCostGbp: sum('energyCostGbp'),
      flexDeliveredMwh: r6(sum('flexDeliveredMwh')),
      flexNetGbp: r2(sum('flexNetGbp')),
    },
    carbon: carbonTotals(m.carbon),
    cost: costTotals(m.cost),
  };
}
