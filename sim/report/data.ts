import { DAY_MS, HALF_HOUR_MS } from '../../core/time/index.ts';
import { auditSummary, unreadLines } from '../../projections/audit/index.ts';
import { carbonByClass, carbonPeriods, type ClassCarbon } from '../../projections/carbon/index.ts';
import { costByDay, costPeriods } from '../../projections/cost/index.ts';
import { flexOrders, flexTotals, stressWindows, type FlexTotals } from '../../projections/flexibility/index.ts';
import { dayAheadSkill, forecastVsActual, type SkillScore } from '../../projections/forecast/index.ts';
import { JOB_CLASSES, missedOrLate, scheduleSummary, type JobClass, type ScheduleSummary } from '../../projections/schedule/index.ts';
import { dayStatement, periodLines } from '../../projections/settlement/index.ts';
import type { PolicyTotals } from '../results.ts';
import type { ReadModel } from '../../projections/index.ts';

/**
 * What the report shows, computed from the projections only (plus the run's parameters and
 * the baselines' totals, which are not on the ledger). Series are aligned on `halfHours`;
 * null marks a half-hour with no value (no meter read, no forecast), never zero.
 */

export interface ReportSite {
  readonly itCapacityKw: number;
  readonly pue: number;
  readonly batteryKwh: number;
  readonly batteryKw: number;
}

export interface BaselineLoad {
  readonly policy: string;
  /** Site kW per half-hour from `startMs`. */
  readonly startMs: number;
  readonly siteKw: ReadonlyArray<number>;
}

export interface ReportInput {
  readonly run: string;
  readonly seed: string;
  readonly fromMs: number;
  readonly days: number;
  readonly site: ReportSite;
  readonly jobs: number;
  readonly wallMs: number;
  readonly totals: ReadonlyArray<PolicyTotals>;
  /** The full verification of the ledger (signatures and hashes), done by the caller. */
  readonly verified: { readonly ok: boolean; readonly headHash: string; readonly firstBroken: string | null } | null;
  readonly baseline: BaselineLoad | null;
}

type Series = Array<number | null>;

export interface ReportData {
  readonly kind: 'caco-report';
  readonly version: 1;
  readonly run: string;
  readonly seed: string;
  readonly from: string;
  readonly days: number;
  readonly site: ReportSite;
  readonly jobs: number;
  readonly wallMs: number;
  readonly totals: ReadonlyArray<PolicyTotals>;
  readonly ledger: {
    readonly events: number;
    readonly streams: number;
    readonly headHash: string;
    readonly chainOk: boolean;
    readonly verified: ReportInput['verified'];
    readonly byType: Readonly<Record<string, number>>;
    /** Events the projections could not read (a version this release does not know, a payload its schema refuses), one line per kind; empty when none: every figure here leaves them out. */
    readonly unread: ReadonlyArray<string>;
  };
  readonly halfHours: ReadonlyArray<string>;
  readonly forecast: {
    readonly carbon: { readonly actual: Series; readonly published: Series; readonly p10: Series; readonly p50: Series; readonly p90: Series; readonly skill: SkillScore };
    readonly price: { readonly actual: Series; readonly p10: Series; readonly p50: Series; readonly p90: Series; readonly skill: SkillScore };
    readonly forecastsPublished: number;
    readonly degraded: number;
    readonly lastDegradedReason: string | null;
  };
  readonly load: {
    /** IT kW of each class × PUE: the facility load the class causes. */
    readonly facilityKwByClass: Readonly<Record<JobClass, Series>>;
    readonly batteryChargeKw: Series;
    readonly batteryDischargeKw: Series;
    /** Metered site import, kW (half-hour average). */
    readonly siteImportKw: Series;
    readonly baseline: { readonly policy: string; readonly siteKw: Series } | null;
  };
  readonly battery: { readonly socKwh: Series; readonly capacityKwh: number };
  readonly flexibility: {
    /** kW contracted (confirmed orders, their share of the half-hour) and delivered (settled against the baseline). */
    readonly soldKw: Series;
    readonly deliveredKw: Series;
    readonly stress: ReadonlyArray<{ readonly kind: string; readonly windowStart: string; readonly windowEnd: string }>;
    readonly orders: ReadonlyArray<{ readonly orderId: string; readonly status: string; readonly windowStart: string; readonly windowEnd: string; readonly kw: number; readonly priceGbpPerMwh: number; readonly deliveredMwh: number | null; readonly netGbp: number | null }>;
    readonly totals: FlexTotals;
  };
  readonly settlementByDay: ReadonlyArray<{
    readonly settlementDate: string;
    readonly importMwh: number;
    readonly energyCostGbp: number;
    readonly flexDeliveredMwh: number;
    readonly flexNetGbp: number;
    readonly netCostGbp: number;
  }>;
  readonly carbonByClass: ReadonlyArray<ClassCarbon>;
  readonly schedule: ScheduleSummary;
  /** Jobs that missed their deadline or finished after it (the table's SLA misses). */
  readonly slaMisses: number;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The half-hours the report covers: the run's days and whatever was metered after (the drain). */
export function reportSpan(m: ReadModel, fromMs: number, days: number): { fromMs: number; toMs: number } {
  let toMs = fromMs + days * DAY_MS;
  for (const p of m.cost.periods.values()) toMs = Math.max(toMs, Date.parse(p.periodStart) + HALF_HOUR_MS);
  return { fromMs, toMs };
}

export function buildReportData(m: ReadModel, p: ReportInput): ReportData {
  const span = reportSpan(m, p.fromMs, p.days);
  const slots = Math.round((span.toMs - span.fromMs) / HALF_HOUR_MS);
  const halfHours = Array.from({ length: slots }, (_, i) => iso(span.fromMs + i * HALF_HOUR_MS));
  const index = new Map(halfHours.map((h, i) => [h, i]));
  const empty = (): Series => new Array<number | null>(slots).fill(null);

  const rows = forecastVsActual(m.forecast, span.fromMs, span.toMs);
  const pick = (f: (r: (typeof rows)[number]) => number | null | undefined): Series => rows.map((r) => f(r) ?? null);

  const facilityKwByClass = Object.fromEntries(JOB_CLASSES.map((c) => [c, empty()])) as Record<JobClass, Series>;
  const siteImportKw = empty(), chargeKw = empty(), dischargeKw = empty(), socKwh = empty();
  for (const c of carbonPeriods(m.carbon)) {
    const i = index.get(c.periodStart);
    if (i === undefined) continue;
    for (const k of JOB_CLASSES) facilityKwByClass[k][i] = (c.itKwhByClass[k] / 0.5) * p.site.pue;
  }
  for (const c of costPeriods(m.cost)) {
    const i = index.get(c.periodStart);
    if (i === undefined) continue;
    siteImportKw[i] = c.importKwh / 0.5;
    chargeKw[i] = c.batteryChargeKwh / 0.5;
    dischargeKw[i] = c.batteryDischargeKwh / 0.5;
    socKwh[i] = c.batterySocKwh;
  }
  let baseline: ReportData['load']['baseline'] = null;
  if (p.baseline) {
    const b = empty();
    p.baseline.siteKw.forEach((kw, k) => {
      const i = index.get(iso(p.baseline!.startMs + k * HALF_HOUR_MS));
      if (i !== undefined) b[i] = kw;
    });
    baseline = { policy: p.baseline.policy, siteKw: b };
  }

  const soldKw = empty(), deliveredKw = empty();
  halfHours.forEach((h, i) => {
    const lines = periodLines(m.settlement, Date.parse(h));
    if (lines.length === 0) return;
    soldKw[i] = lines.reduce((a, l) => a + l.contractedKw * l.activeFraction, 0);
    deliveredKw[i] = lines.some((l) => l.status === 'settled') ? lines.reduce((a, l) => a + l.deliveredKw, 0) : null;
  });

  const audit = auditSummary(m.audit);
  const skill = dayAheadSkill(rows);
  return {
    kind: 'caco-report',
    version: 1,
    run: p.run,
    seed: p.seed,
    from: iso(p.fromMs),
    days: p.days,
    site: p.site,
    jobs: p.jobs,
    wallMs: Math.round(p.wallMs),
    totals: p.totals,
    ledger: { events: audit.events, streams: audit.streams, headHash: audit.headHash, chainOk: audit.chainOk, verified: p.verified, byType: audit.byType, unread: unreadLines(audit.projections) },
    halfHours,
    forecast: {
      carbon: {
        actual: pick((r) => r.carbonActual),
        published: pick((r) => r.carbonPublishedForecast),
        p10: pick((r) => r.carbonDayAhead?.p10),
        p50: pick((r) => r.carbonDayAhead?.p50),
        p90: pick((r) => r.carbonDayAhead?.p90),
        skill: skill.carbon,
      },
      price: {
        actual: pick((r) => r.priceActual),
        p10: pick((r) => r.priceDayAhead?.p10),
        p50: pick((r) => r.priceDayAhead?.p50),
        p90: pick((r) => r.priceDayAhead?.p90),
        skill: skill.price,
      },
      forecastsPublished: m.forecast.published,
      degraded: m.forecast.degraded,
      lastDegradedReason: m.forecast.lastDegraded?.reason ?? null,
    },
    load: { facilityKwByClass, batteryChargeKw: chargeKw, batteryDischargeKw: dischargeKw, siteImportKw, baseline },
    battery: { socKwh, capacityKwh: p.site.batteryKwh },
    flexibility: {
      soldKw,
      deliveredKw,
      stress: stressWindows(m.flexibility).map((w) => ({ kind: w.kind, windowStart: w.windowStart, windowEnd: w.windowEnd })),
      orders: flexOrders(m.flexibility).map((o) => ({
        orderId: o.orderId,
        status: o.status,
        windowStart: o.windowStart,
        windowEnd: o.windowEnd,
        kw: o.kw,
        priceGbpPerMwh: o.priceGbpPerMwh,
        deliveredMwh: o.settled?.deliveredMwh ?? null,
        netGbp: o.settled?.netGbp ?? null,
      })),
      totals: flexTotals(m.flexibility),
    },
    settlementByDay: costByDay(m.cost).map((d) => {
      const st = dayStatement(m.settlement, d.settlementDate).totals;
      return { settlementDate: d.settlementDate, importMwh: d.importMwh, energyCostGbp: d.costGbp, flexDeliveredMwh: st.deliveredMwh, flexNetGbp: st.netGbp, netCostGbp: d.costGbp - st.netGbp };
    }),
    carbonByClass: carbonByClass(m.carbon),
    schedule: scheduleSummary(m.schedule),
    slaMisses: missedOrLate(m.schedule),
  };
}
