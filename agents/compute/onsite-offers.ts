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
import { BatteryStateReported, EnergyOffered } from '../../schemas/index.ts';
import type { OnsiteTier } from './planner/index.ts';
import { HOUR_MS } from '../../core/time/index.ts';

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

/**
 * Fold one outside fact into the offers and battery states (in place). The latest offer of an
 * asset replaces the one before (an operator re-offers to change it; powerKw 0 withdraws it).
 * Returns whether the fact counted.
 */
export function foldOnsiteFact(offers: Map<string, OnsiteOffer>, batteries: Map<string, OnsiteBattery>, e: Envelope): boolean {
  const source = outsideOperator(e);
  if (source === null || !isOnsiteFact(e)) return false;
  switch (e.type) {
    case 'onsite.energy.offered': {
      const d = e.data;
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
      batteries.set(key(source, d.assetId), { source, assetId: d.assetId, atMs, stateOfChargeKwh: d.stateOfChargeKwh, maxDischargeKw: d.maxDischargeKw });
      return true;
    }
    default: {
      const _never: never = e;
      return false;
    }
  }
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
