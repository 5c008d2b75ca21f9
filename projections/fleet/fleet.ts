/**
 * The fleet: several sites' ledgers side by side, each folded on its own (cost, carbon,
 * flexibility), then added up. Sums are of what each site booked; averages are weighted by
 * import, as each site's own are, so the total's gCO2/kWh is total carbon over total import.
 */
export interface SiteTotals {
  readonly site: string;
  readonly events: number;
  readonly headHash: string;
  readonly importMwh: number;
  readonly costGbp: number;
  readonly carbonKg: number;
  readonly flexOrders: number;
  readonly flexDeliveredMwh: number;
  readonly flexContractedMwh: number;
  readonly flexNetGbp: number;
}

export interface FleetTotals {
  readonly sites: number;
  readonly events: number;
  readonly importMwh: number;
  readonly costGbp: number;
  readonly avgPriceGbpPerMwh: number;
  readonly carbonKg: number;
  readonly avgGPerKwh: number;
  readonly flexOrders: number;
  readonly flexDeliveredMwh: number;
  readonly flexContractedMwh: number;
  /** Delivered over contracted across the fleet; null when nothing was contracted. */
  readonly flexDeliveryRatio: number | null;
  readonly flexNetGbp: number;
}

export interface FleetView {
  readonly sites: ReadonlyArray<SiteTotals>;
  readonly total: FleetTotals;
}

export function fleetView(sites: ReadonlyArray<SiteTotals>): FleetView {
  const seen = new Set<string>();
  for (const s of sites) {
    if (seen.has(s.site)) throw new Error(`site "${s.site}" is listed twice: a fleet counts each ledger once`);
    seen.add(s.site);
  }
  const sum = (f: (s: SiteTotals) => number) => sites.reduce((a, s) => a + f(s), 0);
  const importMwh = sum((s) => s.importMwh);
  const costGbp = sum((s) => s.costGbp);
  const carbonKg = sum((s) => s.carbonKg);
  const delivered = sum((s) => s.flexDeliveredMwh);
  const contracted = sum((s) => s.flexContractedMwh);
  return {
    sites: [...sites].sort((a, b) => (a.site < b.site ? -1 : a.site > b.site ? 1 : 0)),
    total: {
      sites: sites.length,
      events: sum((s) => s.events),
      importMwh,
      costGbp,
      avgPriceGbpPerMwh: importMwh > 0 ? costGbp / importMwh : 0,
      carbonKg,
      // kg / MWh = g / kWh
      avgGPerKwh: importMwh > 0 ? carbonKg / importMwh : 0,
      flexOrders: sum((s) => s.flexOrders),
      flexDeliveredMwh: delivered,
      flexContractedMwh: contracted,
      flexDeliveryRatio: contracted > 0 ? delivered / contracted : null,
      flexNetGbp: sum((s) => s.flexNetGbp),
    },
  };
}
