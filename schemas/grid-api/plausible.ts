/**
 * The values a GB grid signal can plausibly take, shared by the recorded-data loaders and the
 * grid agent: a value outside is another unit or a fault, and is read as missing.
 */

/** GB average intensity has never been near 1,500 g/kWh. */
export const CARBON_INTENSITY_RANGE = { min: 0, max: 1500, unit: 'gCO2/kWh' } as const;

/** Half or more of a file's values at or below these is another unit (kg/kWh, £/kWh), not GB data. */
export const CARBON_MEDIAN_ABOVE = 5;
export const PRICE_MEDIAN_ABOVE = 1;

/** GB prices have touched about −£100 and +£4,000/MWh; the band leaves room either side. */
export const PRICE_RANGE = { min: -1000, max: 10000, unit: '£/MWh' } as const;

/** `v` if it is a finite number inside `range`, else null (missing). */
export function plausibleOrNull(v: number | null, range: { readonly min: number; readonly max: number }): number | null {
  return v !== null && Number.isFinite(v) && v >= range.min && v <= range.max ? v : null;
}
