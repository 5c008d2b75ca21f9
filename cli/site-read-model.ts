import type { EventStore, StoreSubscription } from '../core/store/index.ts';
import type { Envelope } from '../core/envelope/index.ts';
import { defineQuery, type GatewayQuery } from '../core/gateway/index.ts';
import { evolveForecast, initialForecast, SLOT_MS, type ForecastState } from '../projections/forecast/index.ts';
import { evolveSchedule, initialSchedule, type ScheduleState } from '../projections/schedule/index.ts';
import { evolveFlexibility, flexOffers, initialFlexibility, type FlexibilityState } from '../projections/flexibility/index.ts';
import { ForecastQuery, OffersQuery, PlanQuery } from '../schemas/index.ts';

/**
 * The read model the gateway's queries answer from: the forecast, schedule and flexibility
 * projections folded live over the (verified) ledger. Outside agents ask it; they never see an
 * agent's internals.
 */
export class SiteReadModel {
  forecast: ForecastState = initialForecast;
  schedule: ScheduleState = initialSchedule;
  flexibility: FlexibilityState = initialFlexibility;
  private sub: StoreSubscription | undefined;

  apply(e: Envelope): void {
    this.forecast = evolveForecast(this.forecast, e);
    this.schedule = evolveSchedule(this.schedule, e);
    this.flexibility = evolveFlexibility(this.flexibility, e);
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
      description: "one job's plan as it stands: status, planned start and end, the half-hours and power it runs at, the plan and forecast it came from, and why",
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
