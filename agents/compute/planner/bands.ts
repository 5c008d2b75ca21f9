/**
 * Point estimates from forecast bands. The planner's objective is linear in price and carbon,
 * so under uncertainty the number to plan on is the expected value, not the median: a price
 * forecast's upper tail (spikes) is longer than its lower one, and the P50 understates what a
 * half-hour will cost on average. The Pearson–Tukey (Swanson's) 0.3/0.4/0.3 weights on
 * P10/P50/P90 estimate the mean from the three quantiles.
 */
export interface BandPoint {
  readonly p10: number;
  readonly p50: number;
  readonly p90: number;
}

export function expectedFromBand(b: BandPoint): number {
  return 0.3 * b.p10 + 0.4 * b.p50 + 0.3 * b.p90;
}

export function expectedFromBands(bands: ReadonlyArray<BandPoint>): number[] {
  return bands.map(expectedFromBand);
}
