/**
 * An order's contracted kW over time: the kW it was confirmed at, then each change the buyer
 * made (`flex.order.updated`), effective from its time. One history, read the same way by
 * settlement (per half-hour) and by the flexibility projection (what was sold), so the two
 * never disagree about how much energy an order contracted.
 *
 * A change inside a half-hour applies from its time: the half-hour is contracted at the old kW
 * until then and at the new kW after, time-weighted, as a window edge inside a half-hour is.
 */
export interface KwSegment {
  /** The kW applies from this time (ms); the first segment from -Infinity. */
  readonly fromMs: number;
  readonly kw: number;
}

export type KwHistory = ReadonlyArray<KwSegment>;

export const kwHistoryOf = (kw: number): KwHistory => [{ fromMs: -Infinity, kw }];

/** The history with `kw` from `fromMs` on; a change dated before an earlier one replaces it. */
export function withKwChange(h: KwHistory, fromMs: number, kw: number): KwHistory {
  return [...h.filter((s) => s.fromMs < fromMs), { fromMs, kw }];
}

/** The kW in force at `tMs`. */
export function kwAt(h: KwHistory, tMs: number): number {
  let kw = 0;
  for (const s of h) if (s.fromMs <= tMs) kw = s.kw;
  return kw;
}

/** Contracted energy in [fromMs, toMs), kWh: the kW in force integrated over time. */
export function kwhBetween(h: KwHistory, fromMs: number, toMs: number): number {
  if (!(toMs > fromMs)) return 0;
  let kwh = 0;
  for (let i = 0; i < h.length; i++) {
    const a = Math.max(fromMs, h[i]!.fromMs);
    const b = Math.min(toMs, h[i + 1]?.fromMs ?? Infinity);
    if (b > a) kwh += (h[i]!.kw * (b - a)) / 3_600_000;
  }
  return kwh;
}

/** Mean kW in force over [fromMs, toMs) (exactly the kW when no change falls inside); the kW at `fromMs` for an empty span. */
export function meanKwBetween(h: KwHistory, fromMs: number, toMs: number): number {
  if (!(toMs > fromMs) || !h.some((s) => s.fromMs > fromMs && s.fromMs < toMs)) return kwAt(h, fromMs);
  return kwhBetween(h, fromMs, toMs) / ((toMs - fromMs) / 3_600_000);
}
