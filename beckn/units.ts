import type { PowerMeasure } from '../schemas/beckn/index.ts';

/** Numbers on the Beckn wire are decimal strings; CACO keeps kW and £ as numbers inside. */

/** kW → `{ unit: 'MW', value: '1.5' }` (MW, as the DEG examples; kW precision kept). */
export function kwToMeasure(kw: number): PowerMeasure {
  if (!Number.isFinite(kw) || kw < 0) throw new RangeError(`kW must be a finite non-negative number, got ${kw}`);
  return { unit: 'MW', value: formatDecimal(kw / 1000, 6, 1) };
}

export function measureToKw(m: PowerMeasure): number {
  const v = Number(m.value);
  return m.unit === 'MW' ? roundTo(v * 1000, 6) : v;
}

/** Fixed decimals with trailing zeros dropped, keeping at least `minDecimals`: 2 → "2.0", 1.25 → "1.25". */
export function formatDecimal(x: number, maxDecimals: number, minDecimals = 0): string {
  const fixed = roundTo(x, maxDecimals).toFixed(maxDecimals);
  if (maxDecimals === 0) return fixed;
  const [int, frac = ''] = fixed.split('.');
  let f = frac.replace(/0+$/, '');
  while (f.length < minDecimals) f += '0';
  return f ? `${int}.${f}` : int!;
}

export const formatGbp = (x: number): string => roundTo(x, 2).toFixed(2);

export function roundTo(x: number, decimals: number): number {
  const k = 10 ** decimals;
  return Math.round(x * k) / k;
}
