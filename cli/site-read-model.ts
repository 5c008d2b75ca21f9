import type { EventStore, StoreSubscription } from '../core/store/index.ts';
import type { Envelope } from '../core/envelope/index.ts';
import { defineQuery, type GatewayQuery } from '../core/gateway/index.ts';
import type { Message } from '../core/envelope/index.ts';
import { forecastProjection, initialForecast, SLOT_MS, type ForecastState } from '../projections/forecast/index.ts';
import { initialSchedule, scheduleProjection, type ScheduleState } from '../projections/schedule/index.ts';
import { flexibilityProjection, flexOffers, initialFlexibility, type FlexibilityState } from '../projections/flexibility/index.ts';
import { ForecastQuery, OffersQuery, PlanQuery } from '../schemas/index.ts';
import { createLogger, type Logger } from '../core/log/index.ts';
import { stepChecked, type Projection, type Skipped } from '../projections/index.ts';

/**
 * The read model the gateway's queries answer from: the forecast, schedule and flexibility
 * projections folded live over the (verified) ledger. Outside agents ask it; they never see an
 * agent's internals.
 */
export class SiteReadModel {
  forecast: ForecastState = initialForecast;
  schedule: ScheduleState = initialSchedule;
  flexibility: FlexibilityState = initialFlexibility;
  /** Events a projection skipped (a version it does not read, a payload that does not decode), by `type@version`. */
  readonly skipped = new Map<string, number>();
  /** Events a projection's fold threw on: the others went on. */
  failed = 0;
  private sub: StoreSubscription | undefined;

  constructor(private readonly log: Logger = createLogger({ level: 'warn' }).child({ component: 'site-read-model' })) {}

  /**
   * One event into each projection, each on its own: a projection that skips the event
   * (kit.ts `readOf`) or throws on it keeps its state, the failure is logged with the event's
   * id, and the others and the next events are folded, so the queries keep answering.
   */
  apply(e: Envelope): void {
    this.forecast = this.one(forecastProjection, this.forecast, e);
    this.schedule = this.one(scheduleProjection, this.schedule, e);
    this.flexibility = this.one(flexibilityProjection, this.flexibility, e);
  }

  private one<S, E extends Message>(p: Projection<S, E>, state: S, e: Envelope): S {
    try {
      const r = stepChecked(p, state, e);
      if (r.skipped) this.noteSkipped(r.skipped);
      return r.state;
    } catch (err) {
      this.failed++;
      this.log.error({ eventId: e.id, type: e.type, version: e.version, projection: p.name, err: err instanceof Error ? err.message : String(err) }, 'a projection failed on an event: the read model goes on without it');
      return state;
    }
  }

  private noteSkipped(s: Skipped): void {
    const n = (this.skipped.get(s.key) ?? 0) + 1;
    this.skipped.set(s.key, n);
    // The first of each type@version, then every thousandth: a ledger full of them does not flood the log.
    if (n === 1 || n % 1000 === 0) this.log.warn({ eventId: s.eventId, type: s.type, version: s.version, projection: s.projection, reason: s.reason, skipped: n }, 'a projection skipped an event it cannot read');
  }

  /** Fold the ledger so far, then follow it. */
  async follow(store: EventStore): Promise<void> {
    this.sub = await store.subscribeAll((e) => this.apply(e), { handlerFailures: 'end' });
    await this.sub.caughtUp();
  }

  async close(): Promise<void> {
    await this.sub?.close();
  }
}

/** `caco.<site>.q.forecast`, `q.plan`, `q.offers`, answered from the read model. */
export function siteQueries(model: SiteReadModel, now: () => number): Record<string, GatewayQuery> {
  return {
    forecast: {
      description: 'the latest grid forecast: carbon intensity (gCO2/kWh) and price (GBP/MWh) per half-hour, each with P10/P50/P90 bands',
      request: ForecastQuery,
      answer: () => {
        const f = model.forecast.latest;
        if (!f) return { forecast: null };
        const startMs = Date.parse(f.startsAt);
        const n = Math.min(f.carbon.length, f.price.length);
        return {
          forecast: {
            forecastId: f.forecastId,
            issuedAt: f.issuedAt,
            startsAt: f.startsAt,
            carbonModel: f.carbonModel,
            priceModel: f.priceModel,
            eventId: f.eventId,
            halfHours: Array.from({ length: n }, (_, i) => ({ start: new Date(startMs + i * SLOT_MS).toISOString(), carbonGPerKwh: f.carbon[i]!, priceGbpPerMwh: f.price[i]! })),
          },
        };
      },
    },
    plan: defineQuery({
      description: "one job's plan as it stands: status, planned start and end, the half-hours and power it runs at, the plan and forecast it came from, and why; unplacedSince when the last plans found no room for it",
      request: PlanQuery,
      answer: ({ jobId }) => {
        const j = model.schedule.jobs.get(jobId);
        if (!j) return { jobId, plan: null };
        return {
          jobId,
          plan: {
            status: j.status,
            plannedStart: j.plannedStart,
            plannedEnd: j.plannedEnd,
            slots: j.plannedSlots,
            planId: j.planId,
            forecastId: j.forecastId,
            reason: j.reason,
            expected: j.expected,
            pinned: j.pinned,
            deadline: j.deadline,
            unplacedSince: j.unplacedSince,
            // A plan names at most 100 unplaced jobs: past them, a null above is not "placed".
            unplacedUnlisted: Math.max(0, (model.schedule.plan?.unplaced?.count ?? 0) - (model.schedule.plan?.unplaced?.jobIds.length ?? 0)),
            lastEventId: j.lastEventId,
          },
        };
      },
    }),
    offers: {
      description: 'the open flexibility offers: load reductions the site offers, not yet expired',
      request: OffersQuery,
      answer: () => {
        const t = now();
        const open = flexOffers(model.flexibility).filter((o) => Date.parse(o.validUntil) > t);
        return { offers: open.map((o) => ({ offerId: o.offerId, planId: o.planId, windowStart: o.windowStart, windowEnd: o.windowEnd, availableKw: o.availableKw, priceGbpPerMwh: o.priceGbpPerMwh, baselineKw: o.baselineKw, validUntil: o.validUntil, orderIds: o.orderIds, eventId: o.eventId })) };
      },
    },
  };
}
