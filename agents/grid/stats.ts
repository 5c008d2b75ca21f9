/** Order statistics shared by the naive forecaster and the stress detector. Pure. */

/** The q-quantile (0..1) of `values` by linear interpolation between order statistics (type 7); NaN when empty. */
export function quantile(values: ReadonlyArray<number>, q: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const pos = Math.min(Math.max(q, 0), 1) * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (s[lo] as number) + ((s[hi] as number) - (s[lo] as number)) * (pos - lo);
}

export function median(values: ReadonlyArray<number>): number {
  return quantile(values, 0.5);
}
