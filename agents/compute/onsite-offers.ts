/**
 * Energy that outside on-site asset operators offer the site (onsite.energy.offered), and the
 * battery states they report (onsite.battery.state.reported), turned into the planner's
 * per-slot supply tiers. Pure: the state is built by `evolve` from the ledger, this only reads.
 *
 * Trust: only facts an outside agent appended through the site's gateway count. The gateway
 * checks the signature, the key's role and the schema, and stores the fact in the agent's own
 * stream `ext-<name>` with `source` = its party; a fact anywhere else, or whose source is not
 * the stream's owner, is ignored here (an agent of the site cannot speak for an operator).
 */
import { isOneOf, type Envelope } from '../../core/envelope/index.ts';
import { BatteryStateReported, EnergyOffered, type MessageOf } from '../../schemas/index.ts';
import type { OnsiteTier } from './planner/index.ts';
import { HALF_HOUR_MS as SLOT_MS, HOUR_MS } from '../../core/time/index.ts';
import { HORIZON_SLOTS } from './horizon.ts';

/**
 * How many offers one operator may have live at the site (and battery states it may have
 * reported): each live offer is a column of the planner in every half-hour it covers, in every
 * re-plan, so one operator must not be able to grow the plan without bound. An asset re-offered
 * replaces its offer, so this is assets with an offer in force; sixteen is more than one
 * operator runs at one site, and a small part of a solve.
 */
export const DEFAULT_MAX_ONSITE_OFFERS_PER_SOURCE = 16;

/** How far ahead of its append an offer may start: the half-hours the site plans on-site energy over (48 h). */
export const OFFER_HORIZON_MS = HORIZON_SLOTS * SLOT_MS;

export interface OnsiteLimits {
  /** Live offers (and battery states) per operator; see DEFAULT_MAX_ONSITE_OFFERS_PER_SOURCE. */
  readonly maxOffersPerSource: number;
}

export const DEFAULT_ONSITE_LIMITS: OnsiteLimits = { maxOffersPerSource: DEFAULT_MAX_ONSITE_OFFERS_PER_SOURCE };

export interface OnsiteOffer {
  /** The operator (the party of the key that signed the append). */
  readonly source: string;
  readonly assetId: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly powerKw: number;
  readonly priceGbpPerMwh: number;
  readonly carbonGPerKwh: number;
  /** The ledger event that made it, for explanations. */
  readonly eventId: string;
}

export interface OnsiteBattery {
  readonly source: string;
  readonly assetId: string;
  readonly atMs: number;
  readonly stateOfChargeKwh: number;
  readonly maxDischargeKw: number;
}

/** The operator's stream name of an outside fact, or null when the fact did not come through the gateway. */
export function outsideOperator(e: Pick<Envelope, 'stream' | 'source'>): string | null {
  return e.stream === `ext-${e.source}` ? e.source : null;
}

const key = (source: string, assetId: string) => `${source}\u0000${assetId}`;

const isOnsiteFact = isOneOf([EnergyOffered, BatteryStateReported]);

/** Whether an offer is used, or why not (for the operator's log). */
export type OfferVerdict = { readonly use: true } | { readonly use: false; readonly reason: string };

/**
 * Whether the offer `e` of operator `source` is used, given the offers in force. Pure, and the
 * same before and after `e` is folded (it counts the operator's other assets only), so `evolve`
 * and the decider agree on it. A withdrawal (powerKw 0) is always used. Otherwise not used: an
 * offer whose window ended by the time it was appended (`e.time`, the site's clock), one that
 * starts beyond the 48 h the site plans on-site energy over (offer it again nearer the time),
 * and a new asset's offer when its operator already has `maxOffersPerSource` live ones
 * (re-offering one of those, or withdrawing one, is always possible).
 */
export function offerVerdict(offers: ReadonlyMap<string, OnsiteOffer>, source: string, e: Pick<Envelope<MessageOf<typeof EnergyOffered>>, 'data' | 'time'>, limits: OnsiteLimits): OfferVerdict {
  const d = e.data;
  if (!(d.powerKw > 0)) return { use: true };
  const at = Date.parse(e.time);
  if (Date.parse(d.to) <= at) return { use: false, reason: `its window ended (${d.to}) before it was offered (${e.time})` };
  if (Date.parse(d.from) >= at + OFFER_HORIZON_MS) return { use: false, reason: `its window starts (${d.from}) more than ${OFFER_HORIZON_MS / HOUR_MS} h after it was offered (${e.time}): offer it again nearer the time` };
  const k = key(source, d.assetId);
  let live = 0;
  for (const [ok, o] of offers) if (o.source === source && ok !== k && o.toMs > at) live++;
  if (live >= limits.maxOffersPerSource) return { use: false, reason: `${source.slice(0, 64)} has ${live} live offers, the most one operator may have` };
  return { use: true };
}

/**
 * Fold one outside fact into the offers and battery states (in place). The latest offer of an
 * asset replaces the one before (an operator re-offers to change it; powerKw 0 withdraws it);
 * an offer `offerVerdict` does not use changes nothing. An operator's battery states are kept
 * for at most `maxOffersPerSource` assets: a new asset's replaces the one reported longest ago.
 * Returns whether the fact counted.
 */
export function foldOnsiteFact(offers: Map<string, OnsiteOffer>, batteries: Map<string, OnsiteBattery>, e: Envelope, limits: OnsiteLimits = DEFAULT_ONSITE_LIMITS): boolean {
  const source = outsideOperator(e);
  if (source === null || !isOnsiteFact(e)) return false;
  switch (e.type) {
    case 'onsite.energy.offered': {
      const d = e.data;
      if (!offerVerdict(offers, source, e, limits).use) return false;
      if (!(d.powerKw > 0)) {
        offers.delete(key(source, d.assetId));
        return true;
      }
      offers.set(key(source, d.assetId), {
        source,
        assetId: d.assetId,
        fromMs: Date.parse(d.from),
        toMs: Date.parse(d.to),
        powerKw: d.powerKw,
        priceGbpPerMwh: d.priceGbpPerMwh,
        carbonGPerKwh: d.carbonGPerKwh,
        eventId: e.id,
      });
      return true;
    }
    case 'onsite.battery.state.reported': {
      const d = e.data;
      const atMs = Date.parse(d.at);
      const before = batteries.get(key(source, d.assetId));
      if (before && before.atMs > atMs) return true;
      if (!before) evictOldestBattery(batteries, source, limits.maxOffersPerSource - 1);
      batteries.set(key(source, d.assetId), { source, assetId: d.assetId, atMs, stateOfChargeKwh: d.stateOfChargeKwh, maxDischargeKw: d.maxDischargeKw });
      return true;
    }
    default: {
      const _never: never = e;
      return false;
    }
  }
}

/** Keep at most `keep` battery states of `source`: those reported longest ago go first. */
function evictOldestBattery(batteries: Map<string, OnsiteBattery>, source: string, keep: number): void {
  const mine = [...batteries].filter(([, b]) => b.source === source);
  if (mine.length <= keep) return;
  mine.sort(([ka, a], [kb, b]) => a.atMs - b.atMs || (ka < kb ? -1 : 1));
  for (const [k] of mine.slice(0, mine.length - Math.max(0, keep))) batteries.delete(k);
}

/** Forget offers that ended by `nowMs`: they can no longer change a plan. */
export function pruneOffers(offers: Map<string, OnsiteOffer>, nowMs: number): void {
  for (const [k, o] of offers) if (o.toMs <= nowMs) offers.delete(k);
}

export interface OnsiteTierOptions {
  readonly t0Ms: number;
  readonly slots: number;
  readonly slotMs: number;
  readonly offers: Iterable<OnsiteOffer>;
  readonly batteries?: ReadonlyMap<string, OnsiteBattery>;
}

/**
 * The planner's supply tiers: each offer gives, in every slot its window covers, up to its
 * powerKw at its price and carbon. A battery's offer is held to what its latest report says it
 * can do: no more than its maximum discharge, and no more energy over the window than it holds.
 */
export function onsiteTiers(o: OnsiteTierOptions): OnsiteTier[] {
  const out: OnsiteTier[] = [];
  const end = o.t0Ms + o.slots * o.slotMs;
  for (const offer of o.offers) {
    if (offer.toMs <= o.t0Ms || offer.fromMs >= end || !(offer.powerKw > 0)) continue;
    let kw = offer.powerKw;
    const bat = o.batteries?.get(key(offer.source, offer.assetId));
    if (bat) {
      const hours = (offer.toMs - offer.fromMs) / HOUR_MS;
      kw = Math.min(kw, bat.maxDischargeKw, hours > 0 ? bat.stateOfChargeKwh / hours : kw);
    }
    if (!(kw > 0)) continue;
    for (let s = 0; s < o.slots; s++) {
      const at = o.t0Ms + s * o.slotMs;
      if (at >= offer.fromMs && at + o.slotMs <= offer.toMs) out.push({ slot: s, kw, priceGbpPerMwh: offer.priceGbpPerMwh, intensityGPerKwh: offer.carbonGPerKwh });
    }
  }
  return out;
}
