/**
 * The statistics the online ensemble is fitted with: combination weights on the simplex, a
 * median bias correction and split-conformal band offsets. Pure functions over past errors;
 * nothing here knows about time, so whoever calls them decides which past is allowed
 * (`ensemble-forecaster.ts`: only residuals already observed at the forecast's origin).
 */

export interface SimplexFitOptions {
  /**
   * Pull towards equal weights, as a share of the mean squared error of the equal-weight
   * combination: a little keeps two nearly collinear candidates from trading weight day to day.
   * Default 0.
   */
  readonly shrink?: number;
}

/** Most candidates `simplexWeights` takes: it tries every subset (2^K − 1 small linear systems). */
export const MAX_CANDIDATES = 10;

/**
 * Weights w on the simplex minimising mean((Σ_k w_k x_k − y)²) + λ·|w − 1/K|² over the samples:
 * a convex combination of the candidates, so the ensemble never extrapolates beyond what its
 * members say. `preds[k][i]` is candidate k's forecast for sample i; all must be finite.
 *
 * Exact: the optimum has some support S on which w solves the equality-constrained problem
 * (Σw = 1) with w ≥ 0, so every subset is solved from its KKT system and the feasible one with
 * the smallest loss wins. Candidates are few (≤ MAX_CANDIDATES), so this costs microseconds and,
 * unlike an iterative method, does not stall on candidates that are nearly collinear (forecasts
 * of the same series always are). Deterministic; ties go to the earlier subset.
 */
export function simplexWeights(preds: ReadonlyArray<ArrayLike<number>>, actual: ArrayLike<number>, opts: SimplexFitOptions = {}): number[] {
  const k = preds.length;
  const n = actual.length;
  if (k === 0) throw new RangeError('simplexWeights: no candidates');
  if (k > MAX_CANDIDATES) throw new RangeError(`simplexWeights: at most ${MAX_CANDIDATES} candidates, got ${k}`);
  if (preds.some((p) => p.length !== n)) throw new RangeError('simplexWeights: every candidate needs one forecast per actual');
  const eq = 1 / k;
  if (k === 1 || n === 0) return Array.from({ length: k }, () => eq);
  // Loss(w) = wᵀGw − 2bᵀw + c with G, b the averaged cross products of the errors' parts; work
  // with errors e_k = x_k − y so G is the error covariance (well scaled, no large mean).
  const g = Array.from({ length: k }, () => new Float64Array(k));
  for (let i = 0; i < n; i++) {
    const y = actual[i]!;
    for (let a = 0; a < k; a++) {
      const ea = preds[a]![i]! - y;
      const row = g[a]!;
      for (let c = a; c < k; c++) row[c]! += ea * (preds[c]![i]! - y);
    }
  }
  for (let a = 0; a < k; a++) {
    for (let c = a; c < k; c++) {
      g[a]![c]! /= n;
      g[c]![a] = g[a]![c]!;
    }
  }
  // With Σw = 1, mean((Σ w_k x_k − y)²) = wᵀGw exactly, where G is the error cross-product matrix.
  let equalLoss = 0;
  for (let a = 0; a < k; a++) for (let c = 0; c < k; c++) equalLoss += g[a]![c]! * eq * eq;
  const lambda = (opts.shrink ?? 0) * equalLoss;
  const loss = (w: ReadonlyArray<number>): number => {
    let s = 0;
    for (let a = 0; a < k; a++) {
      for (let c = 0; c < k; c++) s += w[a]! * g[a]![c]! * w[c]!;
      s += lambda * (w[a]! - eq) ** 2;
    }
    return s;
  };
  let best: number[] | null = null;
  let bestLoss = Infinity;
  for (let mask = 1; mask < 1 << k; mask++) {
    const idx: number[] = [];
    for (let a = 0; a < k; a++) if (mask & (1 << a)) idx.push(a);
    const w = solveOnSupport(g, idx, lambda, eq, k);
    if (!w) continue;
    const l = loss(w);
    if (best === null || l < bestLoss - 1e-12 * Math.max(1, Math.abs(bestLoss))) {
      bestLoss = l;
      best = w;
    }
  }
  return best ?? Array.from({ length: k }, () => eq);
}

/** Minimise over w supported on `idx` with Σw = 1 (KKT system); null if singular or some weight is negative. */
function solveOnSupport(g: ReadonlyArray<Float64Array>, idx: ReadonlyArray<number>, lambda: number, eq: number, k: number): number[] | null {
  const m = idx.length;
  // [2(G_SS + λI)  1] [w]   [2λ·eq]
  // [1ᵀ            0] [μ] = [1    ]
  const a = Array.from({ length: m + 1 }, () => new Float64Array(m + 2));
  for (let r = 0; r < m; r++) {
    for (let c = 0; c < m; c++) a[r]![c] = 2 * g[idx[r]!]![idx[c]!]! + (r === c ? 2 * lambda : 0);
    a[r]![m] = 1;
    a[r]![m + 1] = 2 * lambda * eq;
  }
  for (let c = 0; c < m; c++) a[m]![c] = 1;
  a[m]![m + 1] = 1;
  const x = solveLinear(a, m + 1);
  if (!x) return null;
  const w = new Array<number>(k).fill(0);
  for (let r = 0; r < m; r++) {
    if (!(x[r]! >= -1e-12)) return null;
    w[idx[r]!] = Math.max(0, x[r]!);
  }
  const sum = w.reduce((s, v) => s + v, 0);
  return sum > 0 ? w.map((v) => v / sum) : null;
}

/** Gaussian elimination with partial pivoting on an augmented n × (n+1) matrix; null when (near) singular. */
function solveLinear(a: Float64Array[], n: number): number[] | null {
  let scale = 0;
  for (const row of a) for (let c = 0; c < n; c++) scale = Math.max(scale, Math.abs(row[c]!));
  const tiny = 1e-12 * (scale || 1);
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r]![col]!) > Math.abs(a[p]![col]!)) p = r;
    if (Math.abs(a[p]![col]!) <= tiny) return null;
    [a[col], a[p]] = [a[p]!, a[col]!];
    const piv = a[col]!;
    for (let r = col + 1; r < n; r++) {
      const row = a[r]!;
      const f = row[col]! / piv[col]!;
      if (f === 0) continue;
      for (let c = col; c <= n; c++) row[c]! -= f * piv[c]!;
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = a[r]![n]!;
    for (let c = r + 1; c < n; c++) s -= a[r]![c]! * x[c]!;
    x[r] = s / a[r]![r]!;
  }
  return x.every(Number.isFinite) ? x : null;
}

/** The median of `residuals` (actual − forecast): the shift that minimises absolute error; 0 when empty. */
export function medianBias(residuals: ArrayLike<number>): number {
  if (residuals.length === 0) return 0;
  const s = Float64Array.from(residuals).sort();
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export interface ConformalOffsets {
  /** Added to the P50 to give the P10 (≤ 0 unless every residual was positive). */
  readonly lo: number;
  /** Added to the P50 to give the P90. */
  readonly hi: number;
  readonly n: number;
}

/**
 * Split-conformal band: with n exchangeable residuals r = actual − P50, the interval
 * [P50 + r₍ₗ₎, P50 + r₍ᵤ₎] with l = ⌊(n+1)·lower⌋ and u = ⌈(n+1)·upper⌉ (order statistics,
 * 1-based) covers a new actual with probability at least upper − lower (for lower = 0.1, upper
 * = 0.9: at least 80 %) and, without ties, at most that plus 2/(n+1). With n too small for
 * those ranks the band is as wide as the residuals go.
 */
export function conformalOffsets(residuals: ArrayLike<number>, lower = 0.1, upper = 0.9): ConformalOffsets {
  if (!(lower >= 0 && upper <= 1 && lower < upper)) throw new RangeError(`conformalOffsets: need 0 ≤ lower < upper ≤ 1, got ${lower}, ${upper}`);
  const n = residuals.length;
  if (n === 0) throw new RangeError('conformalOffsets: no residuals');
  const s = Float64Array.from(residuals).sort();
  const l = Math.max(1, Math.floor((n + 1) * lower));
  const u = Math.min(n, Math.ceil((n + 1) * upper));
  return { lo: s[l - 1]!, hi: s[u - 1]!, n };
}

/**
 * Weighted split-conformal band for residuals that are not exchangeable, e.g. a window whose
 * older half came from another weather regime (Barber, Candès, Ramdas & Tibshirani, "Conformal
 * prediction beyond exchangeability", 2023): residual i counts with weight `weights[i]`, the
 * new point with weight 1 at the far ends, and the offsets are the weighted `lower` / `upper`
 * quantiles of that mixture. With equal weights of 1 this is `conformalOffsets`.
 */
export function weightedConformalOffsets(
  residuals: ArrayLike<number>,
  weights: ArrayLike<number>,
  lower = 0.1,
  upper = 0.9,
  /** `indexOrder(residuals)`, when the caller has it already (the same sort serves quantileGrid). */
  order: ReadonlyArray<number> = indexOrder(residuals),
): ConformalOffsets {
  if (!(lower >= 0 && upper <= 1 && lower < upper)) throw new RangeError(`weightedConformalOffsets: need 0 ≤ lower < upper ≤ 1, got ${lower}, ${upper}`);
  const n = residuals.length;
  if (n === 0) throw new RangeError('weightedConformalOffsets: no residuals');
  if (weights.length !== n) throw new RangeError(`weightedConformalOffsets: ${weights.length} weights for ${n} residuals`);
  if (order.length !== n) throw new RangeError(`weightedConformalOffsets: an order of ${order.length} for ${n} residuals`);
  let total = 1;
  for (let i = 0; i < n; i++) {
    const w = weights[i]!;
    if (!(w >= 0 && Number.isFinite(w))) throw new RangeError(`weightedConformalOffsets: weight ${i} is ${w}`);
    total += w;
  }
  // Lower offset: the largest residual with at most `lower` of the mass (the new point's own
  // weight sits below everything) strictly under it; upper: the smallest with `upper` of the mass
  // at or under it (the new point's weight above everything).
  let lo = residuals[order[0]!]!;
  let below = 1;
  for (let k = 0; k < n; k++) {
    if (below / total > lower) break;
    lo = residuals[order[k]!]!;
    below += weights[order[k]!]!;
  }
  let hi = residuals[order[n - 1]!]!;
  let cum = 0;
  for (let k = 0; k < n; k++) {
    cum += weights[order[k]!]!;
    if (cum / total >= upper) {
      hi = residuals[order[k]!]!;
      break;
    }
  }
  return { lo, hi, n };
}

/**
 * The weighted empirical distribution of `values` as `levels + 1` quantiles at 0, 1/levels, …, 1
 * (the i-th is the smallest value with at least i/levels of the weight at or below it; the ends
 * are the minimum and maximum). Compact enough to keep for every past fit, so the forecasts a
 * fit issued can later be scored on the distribution it issued (`gridCdf`).
 */
export function quantileGrid(
  values: ArrayLike<number>,
  weights: ArrayLike<number> | null,
  levels = 200,
  /** `indexOrder(values)`, when the caller has it already. */
  order: ReadonlyArray<number> = indexOrder(values),
): Float64Array {
  const n = values.length;
  if (n === 0) throw new RangeError('quantileGrid: no values');
  if (weights && weights.length !== n) throw new RangeError(`quantileGrid: ${weights.length} weights for ${n} values`);
  if (!(Number.isInteger(levels) && levels >= 2)) throw new RangeError(`quantileGrid: levels must be a whole number ≥ 2, got ${levels}`);
  if (order.length !== n) throw new RangeError(`quantileGrid: an order of ${order.length} for ${n} values`);
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights ? weights[i]! : 1;
    if (!(w >= 0 && Number.isFinite(w))) throw new RangeError(`quantileGrid: weight ${i} is ${w}`);
    total += w;
  }
  if (!(total > 0)) throw new RangeError('quantileGrid: the weights sum to 0');
  const grid = new Float64Array(levels + 1);
  grid[0] = values[order[0]!]!;
  grid[levels] = values[order[n - 1]!]!;
  let k = 0;
  let cum = weights ? weights[order[0]!]! : 1;
  for (let i = 1; i < levels; i++) {
    const need = (i / levels) * total * (1 - 1e-12);
    while (cum < need && k < n - 1) {
      k++;
      cum += weights ? weights[order[k]!]! : 1;
    }
    grid[i] = values[order[k]!]!;
  }
  return grid;
}

/**
 * Where `x` falls in the distribution a `quantileGrid` describes, in [0, 1]: linear between grid
 * points, 0 below the minimum and 1 above the maximum; among equal grid points, their middle.
 * For a forecast's residual this is its probability integral transform (PIT): uniform when the
 * issued distribution was calibrated.
 */
export function gridCdf(grid: ArrayLike<number>, x: number): number {
  const m = grid.length - 1;
  if (!(x >= grid[0]!)) return 0;
  if (x > grid[m]!) return 1;
  // First index with grid[i] ≥ x, and first with grid[i] > x.
  let lo = 0;
  let hi = m;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (grid[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  if (grid[lo] === x) {
    let end = lo;
    while (end < m && grid[end + 1] === x) end++;
    return (lo + end) / 2 / m;
  }
  const a = grid[lo - 1]!;
  const b = grid[lo]!;
  return (lo - 1 + (x - a) / (b - a)) / m;
}

/** The inverse of `gridCdf`: the value at level `p` ∈ [0, 1], linear between grid points. */
export function gridQuantile(grid: ArrayLike<number>, p: number): number {
  const m = grid.length - 1;
  if (!(p > 0)) return grid[0]!;
  if (p >= 1) return grid[m]!;
  const f = p * m;
  const i = Math.floor(f);
  return grid[i]! + (f - i) * (grid[i + 1]! - grid[i]!);
}

/**
 * The weighted `p`-quantile of `values` (the smallest value with at least p of the weight at or
 * below it). Weights are non-negative; all-zero weights are an error.
 */
export function weightedQuantile(values: ArrayLike<number>, weights: ArrayLike<number> | null, p: number): number {
  const n = values.length;
  if (n === 0) throw new RangeError('weightedQuantile: no values');
  const order = indexOrder(values);
  let total = 0;
  for (let i = 0; i < n; i++) total += weights ? weights[i]! : 1;
  if (!(total > 0)) throw new RangeError('weightedQuantile: the weights sum to 0');
  let cum = 0;
  for (const i of order) {
    cum += weights ? weights[i]! : 1;
    if (cum >= p * total * (1 - 1e-12)) return values[i]!;
  }
  return values[order[n - 1]!]!;
}

/** One scored forecast for `adaptiveLevels`: its PIT, the fit instant it was issued under, and the first fit instant at which its outcome was known. */
export interface ScoredForecast {
  readonly pit: number;
  readonly issuedAt: number;
  readonly knownAt: number;
}

/**
 * Adaptive conformal inference (Gibbs & Candès 2021) on the band's two tails, with delayed
 * feedback: at each fit instant in `instants` (ascending), the outcomes that became known there
 * move each tail's level by `step` × (target − misses), where a miss is a PIT beyond the level
 * in force when that forecast was issued (forecasts issued before the first instant count at the
 * targets). A tail that missed too often lately gets a more extreme level, one that missed too
 * rarely a less extreme one; over any stretch, the share of misses is pulled to the target
 * whatever the errors do. Returns the levels in force at the last instant, clamped to [0, 0.5]
 * and [0.5, 1].
 */
export function adaptiveLevels(outcomes: ReadonlyArray<ScoredForecast>, instants: ReadonlyArray<number>, lower: number, upper: number, step: number): { lower: number; upper: number } {
  if (!(lower >= 0 && upper <= 1 && lower < upper)) throw new RangeError(`adaptiveLevels: need 0 ≤ lower < upper ≤ 1, got ${lower}, ${upper}`);
  if (!(step >= 0 && Number.isFinite(step))) throw new RangeError(`adaptiveLevels: step must be ≥ 0, got ${step}`);
  const byKnown = groupByKnownAt(outcomes);
  const tailHi = 1 - upper;
  let aLo = lower;
  let aHi = tailHi;
  const issued = new Map<number, readonly [number, number]>();
  const clampLo = (a: number) => Math.min(0.5, Math.max(0, a));
  for (const t of instants) {
    for (const o of byKnown.get(t) ?? []) {
      const [lo, hi] = issued.get(o.issuedAt) ?? [lower, tailHi];
      aLo += step * (lower - (o.pit < clampLo(lo) ? 1 : 0));
      aHi += step * (tailHi - (o.pit > 1 - clampLo(hi) ? 1 : 0));
    }
    issued.set(t, [aLo, aHi]);
  }
  return { lower: clampLo(aLo), upper: 1 - clampLo(aHi) };
}

/** One scored forecast for `adaptiveScales`: its residual (in the band's units) and the offsets it was issued with before scaling. */
export interface TrackedForecast {
  readonly residual: number;
  readonly lo: number;
  readonly hi: number;
  readonly issuedAt: number;
  readonly knownAt: number;
}

/** The most `adaptiveScales` stretches or shrinks a tail (either way). */
export const MAX_TAIL_SCALE = 8;

/**
 * Online quantile tracking on each tail's width (the "P" of conformal PID control, Angelopoulos,
 * Candès & Tibshirani 2023), with delayed feedback: each tail's offset is multiplied by e^θ, and
 * at each fit instant the outcomes that became known there move θ by `step` × (miss − target),
 * a miss being a residual beyond the offset as scaled when that forecast was issued. Unlike
 * `adaptiveLevels` the band never jumps to the far end of the residual distribution after a run
 * of misses: it widens in proportion, which matters for heavy-tailed errors (price spikes).
 * Returns the multipliers in force at the last instant, within [1/MAX_TAIL_SCALE, MAX_TAIL_SCALE].
 */
export function adaptiveScales(outcomes: ReadonlyArray<TrackedForecast>, instants: ReadonlyArray<number>, lower: number, upper: number, step: number): { lo: number; hi: number } {
  if (!(lower >= 0 && upper <= 1 && lower < upper)) throw new RangeError(`adaptiveScales: need 0 ≤ lower < upper ≤ 1, got ${lower}, ${upper}`);
  if (!(step >= 0 && Number.isFinite(step))) throw new RangeError(`adaptiveScales: step must be ≥ 0, got ${step}`);
  const byKnown = groupByKnownAt(outcomes);
  const cap = Math.log(MAX_TAIL_SCALE);
  const clamp = (x: number) => Math.min(cap, Math.max(-cap, x));
  const tailHi = 1 - upper;
  let tLo = 0;
  let tHi = 0;
  const issued = new Map<number, readonly [number, number]>();
  for (const t of instants) {
    for (const o of byKnown.get(t) ?? []) {
      const [a, b] = issued.get(o.issuedAt) ?? [0, 0];
      tLo = clamp(tLo + step * ((o.residual < o.lo * Math.exp(a) ? 1 : 0) - lower));
      tHi = clamp(tHi + step * ((o.residual > o.hi * Math.exp(b) ? 1 : 0) - tailHi));
    }
    issued.set(t, [tLo, tHi]);
  }
  return { lo: Math.exp(tLo), hi: Math.exp(tHi) };
}

/** Outcomes by the fit instant at which they became known. */
function groupByKnownAt<T extends { readonly knownAt: number }>(outcomes: ReadonlyArray<T>): Map<number, T[]> {
  const byKnown = new Map<number, T[]>();
  for (const o of outcomes) {
    const g = byKnown.get(o.knownAt);
    if (g) g.push(o);
    else byKnown.set(o.knownAt, [o]);
  }
  return byKnown;
}

/** Indexes 0 … n−1 in ascending order of `values`, ties in index order (a stable sort). */
export function indexOrder(values: ArrayLike<number>): number[] {
  const n = values.length;
  return n >= RADIX_MIN && LITTLE_ENDIAN ? (radixOrder(values) ?? comparedOrder(values)) : comparedOrder(values);
}

function comparedOrder(values: ArrayLike<number>): number[] {
  const order: number[] = [];
  for (let i = 0; i < values.length; i++) order.push(i);
  return order.sort((a, b) => values[a]! - values[b]!);
}

/** Below this many values a comparison sort is as quick. */
const RADIX_MIN = 64;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * `indexOrder` by a least-significant-digit radix sort of the values' bits (stable, so ties stay
 * in index order): every refit of the ensemble sorts each lead bucket's residuals, and a sort
 * that calls a comparator was a tenth of a simulation's main thread. Each double becomes a
 * 64-bit key that orders as the number does (negative: all bits flipped; otherwise the sign bit
 * set), with −0 first made +0, which the comparator treats as equal. Undefined (the caller
 * falls back) when a value is NaN, which the comparator orders in its own way.
 */
function radixOrder(values: ArrayLike<number>): number[] | undefined {
  const n = values.length;
  const f = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v !== v) return undefined;
    f[i] = v + 0;
  }
  // The doubles' words, low then high (little-endian), turned into keys.
  const u = new Uint32Array(f.buffer);
  const lo = new Uint32Array(n);
  const hi = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const h = u[2 * i + 1]!;
    if (h & 0x80000000) {
      hi[i] = ~h >>> 0;
      lo[i] = ~u[2 * i]! >>> 0;
    } else {
      hi[i] = (h | 0x80000000) >>> 0;
      lo[i] = u[2 * i]!;
    }
  }
  let src = new Uint32Array(n);
  for (let i = 0; i < n; i++) src[i] = i;
  let dst = new Uint32Array(n);
  // Digits of 11, 11 and 10 bits per word: six passes.
  const count = new Uint32Array(2048);
  for (let pass = 0; pass < 6; pass++) {
    const word = pass < 3 ? lo : hi;
    const shift = (pass % 3) * 11;
    const mask = pass % 3 === 2 ? 1023 : 2047;
    count.fill(0);
    for (let i = 0; i < n; i++) count[(word[i]! >>> shift) & mask]!++;
    // A digit every key shares (the exponent's top bits, mostly) moves nothing.
    if (count[(word[0]! >>> shift) & mask] === n) continue;
    let sum = 0;
    for (let b = 0; b <= mask; b++) {
      const c = count[b]!;
      count[b] = sum;
      sum += c;
    }
    for (let i = 0; i < n; i++) {
      const k = src[i]!;
      dst[count[(word[k]! >>> shift) & mask]!++] = k;
    }
    const t = src;
    src = dst;
    dst = t;
  }
  const order = new Array<number>(n);
  for (let i = 0; i < n; i++) order[i] = src[i]!;
  return order;
}
