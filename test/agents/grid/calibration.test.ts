// test-file-timeout: 120
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { adaptiveLevels, adaptiveScales, conformalOffsets, fitBucket, gridCdf, gridQuantile, indexOrder, medianBias, quantileGrid, simplexWeights, weightedConformalOffsets, weightedQuantile, MAX_TAIL_SCALE } from '../../../agents/grid/index.ts';

/** Deterministic PRNG (mulberry32) so the synthetic data are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const normal = (r: () => number) => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());

describe('ensemble weights', () => {
  test('all the weight goes to the candidate that is the truth; the rest get none', () => {
    const r = rng(1);
    const y = Float64Array.from({ length: 500 }, () => 100 + 50 * normal(r));
    const noisy = y.map((v) => v + 30 * normal(r));
    const biased = y.map((v) => v + 40);
    const w = simplexWeights([noisy, y, biased], y);
    assert.ok(w[1]! > 0.999, `weights ${w}`);
    assert.ok(Math.abs(w.reduce((a, b) => a + b, 0) - 1) < 1e-9);
  });

  test('two unbiased candidates with independent errors are combined by inverse variance', () => {
    const r = rng(2);
    const n = 20_000;
    const y = Float64Array.from({ length: n }, () => 200 + 40 * normal(r));
    const a = y.map((v) => v + 10 * normal(r));
    const b = y.map((v) => v + 20 * normal(r));
    const [wa, wb] = simplexWeights([a, b], y);
    // Optimal weight on a: 20² / (10² + 20²) = 0.8.
    assert.ok(Math.abs(wa! - 0.8) < 0.03, `wa = ${wa}`);
    assert.ok(Math.abs(wa! + wb! - 1) < 1e-9);
  });

  test('shrinkage pulls towards equal weights; weights stay on the simplex and beat every single candidate, for any data', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: -100, max: 100, noNaN: true }), fc.double({ min: -100, max: 100, noNaN: true })), { minLength: 1, maxLength: 50 }), (rows) => {
        const a = rows.map((x) => x[0]);
        const b = rows.map((x) => x[1]);
        const y = rows.map((x) => x[2]);
        const w = simplexWeights([a, b], y);
        assert.ok(w.every((x) => x >= 0 && x <= 1));
        assert.ok(Math.abs(w[0]! + w[1]! - 1) < 1e-9);
        const mse = (p: (i: number) => number) => y.reduce((s, v, i) => s + (p(i) - v) ** 2, 0) / y.length;
        const best = Math.min(mse((i) => a[i]!), mse((i) => b[i]!));
        assert.ok(mse((i) => w[0]! * a[i]! + w[1]! * b[i]!) <= best + 1e-6 * (1 + best));
      }),
    );
    const r = rng(3);
    const y = Float64Array.from({ length: 2000 }, () => 50 * normal(r));
    const a = y.map((v) => v + 5 * normal(r));
    const b = y.map((v) => v + 25 * normal(r));
    const free = simplexWeights([a, b], y)[0]!;
    const shrunk = simplexWeights([a, b], y, { shrink: 1 })[0]!;
    assert.ok(shrunk < free && shrunk > 0.5, `${free} → ${shrunk}`);
  });

  test('rejects mismatched lengths', () => {
    assert.throws(() => simplexWeights([[1, 2], [1]], [1, 2]), /one forecast per actual/);
  });
});

describe('bias correction', () => {
  test('the median residual: a constant offset is removed exactly, and one spike does not move it', () => {
    assert.equal(medianBias([]), 0);
    assert.equal(medianBias([3, 1, 2]), 2);
    assert.equal(medianBias([1, 2, 3, 4]), 2.5);
    assert.equal(medianBias([5, 5, 5, 5, 500]), 5);
    fc.assert(
      fc.property(fc.array(fc.double({ min: -50, max: 50, noNaN: true }), { minLength: 1, maxLength: 40 }), fc.double({ min: -20, max: 20, noNaN: true }), (r, c) => {
        assert.ok(Math.abs(medianBias(r.map((x) => x + c)) - (medianBias(r) + c)) < 1e-9);
      }),
    );
  });

  test('a bucket fit removes a forecaster\'s constant bias', () => {
    const r = rng(4);
    const ys: number[] = [];
    const rows: number[][] = [];
    for (let i = 0; i < 400; i++) {
      const y = 150 + 30 * normal(r);
      ys.push(y);
      rows.push([y + 12 + 3 * normal(r), y + 12 + 30 * normal(r)]);
    }
    const cols = [rows.map((r) => r[0]!), rows.map((r) => r[1]!)];
    const f = fitBucket(cols, ys, { minSamples: 96, shrink: 0, lower: 0.1, upper: 0.9 })!;
    assert.ok(Math.abs(f.bias + 12) < 1.5, `bias ${f.bias}`);
    assert.ok(f.weights[0]! > 0.9);
    assert.equal(fitBucket(cols.map((c) => c.slice(0, 50)), ys.slice(0, 50), { minSamples: 96, shrink: 0, lower: 0.1, upper: 0.9 }), null, 'too few samples: no fit');
  });
});

describe('conformal band', () => {
  test('finite-sample ranks: with 9 residuals 1..9 the 80 % band is [1, 9]; with 99, [10, 90]', () => {
    assert.deepEqual(conformalOffsets([5, 3, 1, 2, 4, 9, 8, 7, 6]), { lo: 1, hi: 9, n: 9 });
    const r = Array.from({ length: 99 }, (_, i) => i + 1);
    assert.deepEqual(conformalOffsets(r), { lo: 10, hi: 90, n: 99 });
    assert.throws(() => conformalOffsets([]), /no residuals/);
    assert.throws(() => conformalOffsets([1], 0.9, 0.1), /lower < upper/);
  });

  test('coverage on exchangeable data is within tolerance of 80 % (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 200, max: 1500 }), fc.constantFrom('normal', 'skewed', 'heavy'), (seed, n, shape) => {
        const r = rng(seed);
        const draw = () => (shape === 'normal' ? 10 * normal(r) : shape === 'skewed' ? -20 * Math.log(1 - r()) : 5 * normal(r) / Math.max(0.05, Math.abs(normal(r))));
        const cal = Array.from({ length: n }, draw);
        const { lo, hi } = conformalOffsets(cal);
        const m = 4000;
        let inside = 0;
        for (let i = 0; i < m; i++) {
          const x = draw();
          if (x >= lo && x <= hi) inside++;
        }
        const cov = inside / m;
        // Marginal guarantee 80 % ≤ E[cov] ≤ 80 % + 2/(n+1); a single draw varies by about
        // sqrt(0.16/n) from the calibration set and sqrt(0.16/m) from the test set.
        const tol = 4 * Math.sqrt(0.16 / n + 0.16 / m) + 2 / (n + 1);
        assert.ok(cov >= 0.8 - tol && cov <= 0.8 + tol, `coverage ${cov} with n = ${n}, ${shape}`);
      }),
      { numRuns: 40 },
    );
  });

  test('weighted conformal: equal weights give the split-conformal band; weights on recent residuals follow a regime change', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 300 }), fc.constantFrom([0.1, 0.9], [0.075, 0.925], [0.05, 0.95], [0.25, 0.75]), (r, [lo, hi]) => {
        assert.deepEqual(weightedConformalOffsets(r, r.map(() => 1), lo, hi), conformalOffsets(r, lo, hi));
      }),
      { seed: 21, numRuns: 500 },
    );
    // 200 old residuals in ±100, then 200 recent ones in ±10: uniform weights give a band near
    // ±100 wide at the 10/90 % levels; a short half-life follows the recent regime.
    const next = rng(5);
    const r = [...Array.from({ length: 200 }, () => (next() * 2 - 1) * 100), ...Array.from({ length: 200 }, () => (next() * 2 - 1) * 10)];
    const age = r.map((_, i) => r.length - i);
    const flat = conformalOffsets(r, 0.1, 0.9);
    const recent = weightedConformalOffsets(r, age.map((a) => 0.5 ** (a / 20)), 0.1, 0.9);
    assert.ok(flat.hi > 30 && flat.lo < -30, JSON.stringify(flat));
    assert.ok(recent.hi <= 10 && recent.lo >= -10 && recent.hi > 5 && recent.lo < -5, JSON.stringify(recent));
    assert.throws(() => weightedConformalOffsets([1, 2], [1]), /1 weights for 2 residuals/);
    assert.throws(() => weightedConformalOffsets([1, 2], [1, -1]), /weight 1 is -1/);
  });
});

describe('quantile grid (the distribution a fit issued, for scoring its forecasts later)', () => {
  test('one sort serves the band and the grid: a shared indexOrder gives what each sorts for itself, ties included (property); an order of another length is refused', () => {
    fc.assert(
      fc.property(
        // Few distinct values, so ties (where the stable order decides which weight comes first) are common.
        fc.array(fc.integer({ min: -5, max: 5 }), { minLength: 1, maxLength: 120 }),
        fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), { minLength: 120, maxLength: 120 }),
        (vals, ws) => {
          const w = ws.slice(0, vals.length);
          const order = indexOrder(vals);
          for (let i = 1; i < order.length; i++) assert.ok(vals[order[i - 1]!]! < vals[order[i]!]! || (vals[order[i - 1]!] === vals[order[i]!] && order[i - 1]! < order[i]!));
          assert.deepEqual(weightedConformalOffsets(vals, w, 0.1, 0.9, order), weightedConformalOffsets(vals, w, 0.1, 0.9));
          assert.deepEqual(quantileGrid(vals, w, 40, order), quantileGrid(vals, w, 40));
        },
      ),
    );
    // The order given is the one used (not sorted again): a reversed one puts the largest first.
    assert.equal(quantileGrid([1, 2, 3], null, 10, [2, 1, 0])[0], 3);
    assert.equal(weightedConformalOffsets([1, 2, 3], [1, 1, 1], 0.1, 0.9, [2, 1, 0]).lo, 3);
    assert.throws(() => quantileGrid([1, 2, 3], null, 10, [0, 1]), /an order of 2 for 3 values/);
    assert.throws(() => weightedConformalOffsets([1, 2, 3], [1, 1, 1], 0.1, 0.9, [2, 1, 0, 3]), /an order of 4 for 3 residuals/);
  });

  test('indexOrder is the stable comparison sort on any doubles: −0 and +0 tied, ±∞, NaN, repeats, arrays long enough for the radix path (property)', () => {
    const compared = (v: ReadonlyArray<number>) => v.map((_, i) => i).sort((a, b) => v[a]! - v[b]!);
    const value = fc.oneof(
      fc.double(),
      fc.constantFrom(0, -0, Infinity, -Infinity, 1, -1, Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE),
      fc.integer({ min: -3, max: 3 }),
    );
    fc.assert(
      // Both sides of the radix path's threshold (64): fast-check's arrays are short unless told.
      fc.property(fc.oneof(fc.array(value, { maxLength: 70 }), fc.array(value, { minLength: 64, maxLength: 400 })), (vals) => {
        assert.deepEqual(indexOrder(vals), compared(vals));
        assert.deepEqual(indexOrder(Float64Array.from(vals)), compared(vals));
      }),
      { numRuns: 300 },
    );
    // Residuals of a refit's size, most of them distinct.
    const big = Array.from({ length: 5000 }, (_, i) => Math.sin(i * 12.9898) * 43758.5453 - ((i * 7) % 13));
    assert.deepEqual(indexOrder(big), compared(big));
  });

  test('grid quantiles are weighted order statistics; the CDF is monotone, in [0, 1], and inverts the quantile function (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e3, max: 1e3, noNaN: true }), { minLength: 1, maxLength: 200 }),
        fc.option(fc.array(fc.double({ min: 0.01, max: 10, noNaN: true }), { minLength: 200, maxLength: 200 }), { nil: null }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (vals, ws, p) => {
          const w = ws ? ws.slice(0, vals.length) : null;
          const g = quantileGrid(vals, w, 50);
          assert.equal(g.length, 51);
          assert.equal(g[0], Math.min(...vals));
          assert.equal(g[50], Math.max(...vals));
          for (let i = 1; i < g.length; i++) assert.ok(g[i]! >= g[i - 1]!, 'grid sorted');
          // Each interior grid point is the weighted quantile at its level.
          for (const i of [1, 10, 25, 49]) assert.equal(g[i], weightedQuantile(vals, w, i / 50));
          const q = gridQuantile(g, p);
          assert.ok(q >= g[0]! && q <= g[50]!);
          const c = gridCdf(g, q);
          assert.ok(c >= 0 && c <= 1);
          // Inverse where the grid is strictly increasing around q.
          const i = Math.min(49, Math.floor(p * 50));
          if (g[i + 1]! > g[i]! && p > 0 && p < 1) assert.ok(Math.abs(c - p) < 1e-9, `cdf(quantile(${p})) = ${c}`);
          const xs = [...vals].sort((a, b) => a - b);
          for (let k = 1; k < xs.length; k++) assert.ok(gridCdf(g, xs[k]!) >= gridCdf(g, xs[k - 1]!), 'cdf monotone');
        },
      ),
      { seed: 7, numRuns: 300 },
    );
    assert.equal(gridCdf([0, 1, 2], -1), 0);
    assert.equal(gridCdf([0, 1, 2], 3), 1);
    assert.equal(gridCdf([0, 1, 2], 1.5), 0.75);
    assert.equal(gridCdf([0, 1, 1, 1, 2], 1), 0.5, 'on a run of equal points: its middle');
    assert.throws(() => quantileGrid([], null), /no values/);
    assert.throws(() => quantileGrid([1, 2], [0, 0]), /sum to 0/);
    assert.throws(() => weightedQuantile([1, 2], [1, 1, 1].slice(0, 2).map(() => 0), 0.5), /sum to 0/);
  });

  test('weighted quantile: equal weights give the order statistic; a heavy weight pulls the quantile to its value', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    assert.equal(weightedQuantile(v, null, 0.1), 10);
    assert.equal(weightedQuantile(v, null, 0.9), 90);
    assert.equal(weightedQuantile(v, null, 1), 100);
    const w = v.map((x) => (x === 50 ? 1000 : 1));
    assert.equal(weightedQuantile(v, w, 0.1), 50);
    assert.equal(weightedQuantile(v, w, 0.9), 50);
  });

  test('PITs of draws from the distribution a grid was built from are close to uniform', () => {
    const r = rng(11);
    const cal = Array.from({ length: 4000 }, () => -20 * Math.log(1 - r()));
    const g = quantileGrid(cal, null, 200);
    const pits = Array.from({ length: 4000 }, () => gridCdf(g, -20 * Math.log(1 - r())));
    for (const p of [0.1, 0.5, 0.9]) assert.ok(Math.abs(weightedQuantile(pits, null, p) - p) < 0.03, `PIT quantile at ${p}`);
  });
});

describe('band scaled by the members\' disagreement', () => {
  test('where the error grows with the spread, the scaled band covers ~80 % at low and high spread alike; the plain band does not', () => {
    const r = rng(17);
    const draw = (n: number) => {
      const cols: number[][] = [[], []];
      const ys: number[] = [];
      for (let i = 0; i < n; i++) {
        const y = 100 + 20 * normal(r);
        const d = i % 2 === 0 ? 2 : 20; // members disagree by ±d around a forecast with error ~ d
        const f = y + d * normal(r);
        cols[0]!.push(f - d);
        cols[1]!.push(f + d);
        ys.push(y);
      }
      return { cols, ys };
    };
    const fit = draw(4000);
    const plain = fitBucket(fit.cols, fit.ys, { minSamples: 96, shrink: 0, lower: 0.1, upper: 0.9 })!;
    const scaled = fitBucket(fit.cols, fit.ys, { minSamples: 96, shrink: 0, lower: 0.1, upper: 0.9, bandScale: 'spread' })!;
    assert.equal(plain.scale, undefined);
    assert.ok(scaled.scale && scaled.scale.b > 0.5, JSON.stringify(scaled.scale));
    const test = draw(4000);
    const cover = (b: typeof plain, odd: number) => {
      let inside = 0;
      let n = 0;
      for (let i = odd; i < test.ys.length; i += 2) {
        const xs = [test.cols[0]![i]!, test.cols[1]![i]!];
        const p50 = b.weights[0]! * xs[0]! + b.weights[1]! * xs[1]!;
        const sigma = b.scale ? b.scale.a + b.scale.b * Math.abs(xs[1]! - xs[0]!) / 2 : 1;
        const e = test.ys[i]! - p50;
        if (e >= b.lo * sigma && e <= b.hi * sigma) inside++;
        n++;
      }
      return inside / n;
    };
    const [pl, ph, sl, sh] = [cover(plain, 0), cover(plain, 1), cover(scaled, 0), cover(scaled, 1)];
    assert.ok(pl > 0.95 && ph < 0.75, `plain: ${pl} at low spread, ${ph} at high`);
    assert.ok(Math.abs(sl - 0.8) < 0.05 && Math.abs(sh - 0.8) < 0.05, `scaled: ${sl} at low spread, ${sh} at high`);
  });

  test('a spread that says nothing about the error gives b = 0: the plain band', () => {
    const r = rng(4);
    const cols: number[][] = [[], []];
    const ys: number[] = [];
    for (let i = 0; i < 3000; i++) {
      const y = 50 * normal(r);
      const f = y + 10 * normal(r);
      const d = 30 * r(); // unrelated to the error
      cols[0]!.push(f - d);
      cols[1]!.push(f + d);
      ys.push(y);
    }
    const s = fitBucket(cols, ys, { minSamples: 96, shrink: 0, lower: 0.1, upper: 0.9, bandScale: 'spread' })!;
    assert.ok(s.scale!.b < 0.05 * s.scale!.a, JSON.stringify(s.scale));
  });
});

describe('adaptive conformal levels (delayed feedback)', () => {
  /** Issue `perInstant` forecasts at each of `n` instants with PITs from `pitAt(t)`, known `delay` instants later. */
  function run(n: number, perInstant: number, delay: number, step: number, pitAt: (t: number, r: () => number) => number) {
    const r = rng(9);
    const outcomes: Array<{ pit: number; issuedAt: number; knownAt: number }> = [];
    const instants: number[] = [];
    let missLo = 0;
    let missHi = 0;
    let scored = 0;
    for (let t = 0; t < n; t++) {
      instants.push(t);
      // The levels in force at t, from everything known by t.
      const lv = adaptiveLevels(outcomes, instants, 0.1, 0.9, step);
      for (let i = 0; i < perInstant; i++) {
        const pit = pitAt(t, r);
        outcomes.push({ pit, issuedAt: t, knownAt: t + delay });
        if (t >= n / 2) {
          scored++;
          if (pit < lv.lower) missLo++;
          if (pit > lv.upper) missHi++;
        }
      }
    }
    return { lo: missLo / scored, hi: missHi / scored, final: adaptiveLevels(outcomes, instants, 0.1, 0.9, step) };
  }

  test('no step: the nominal levels; calibrated PITs: levels stay near them', () => {
    assert.deepEqual(run(50, 10, 2, 0, (_, r) => r()).final, { lower: 0.1, upper: 0.9 });
    const cal = run(200, 10, 2, 0.005, (_, r) => r());
    assert.ok(Math.abs(cal.final.lower - 0.1) < 0.05 && Math.abs(cal.final.upper - 0.9) < 0.05, JSON.stringify(cal.final));
  });

  test('a band that is too narrow (PITs piled in the tails) widens until each tail misses ~10 %', () => {
    // PITs from a distribution twice as wide as the issued one: half the mass beyond P10/P90.
    const wide = (_: number, r: () => number) => Math.min(1, Math.max(0, 0.5 + (r() - 0.5) * 2.5));
    const fixed = run(300, 10, 3, 0, wide);
    const adaptive = run(300, 10, 3, 0.005, wide);
    assert.ok(fixed.lo > 0.2 && fixed.hi > 0.2, JSON.stringify(fixed));
    assert.ok(Math.abs(adaptive.lo - 0.1) < 0.03 && Math.abs(adaptive.hi - 0.1) < 0.03, JSON.stringify(adaptive));
    assert.ok(adaptive.final.lower < 0.1 && adaptive.final.upper > 0.9);
  });

  test('after a shift of the errors to one side, each tail follows on its own', () => {
    // From the middle on, everything comes out high: the upper tail must widen, the lower narrow.
    const shifted = (t: number, r: () => number) => (t < 150 ? r() : Math.min(1, 0.3 + r()));
    const a = run(300, 10, 3, 0.005, shifted);
    assert.ok(a.final.upper > 0.93 && a.final.lower > 0.1, JSON.stringify(a.final));
    assert.ok(Math.abs(a.hi - 0.1) < 0.04, `upper tail missed ${a.hi}`);
    assert.throws(() => adaptiveLevels([], [0], 0.9, 0.1, 0.01), /lower < upper/);
    assert.throws(() => adaptiveLevels([], [0], 0.1, 0.9, -1), /step/);
  });
});

describe('quantile tracking on the tails\' widths (delayed feedback)', () => {
  /** Residuals from `draw`, issued with fixed offsets ±10, known `delay` instants later; misses counted against the multipliers in force at issue. */
  function run(n: number, step: number, draw: (t: number, r: () => number) => number, delay = 3) {
    const r = rng(13);
    const outcomes: Array<{ residual: number; lo: number; hi: number; issuedAt: number; knownAt: number }> = [];
    const instants: number[] = [];
    let lo = 0;
    let hi = 0;
    let scored = 0;
    for (let t = 0; t < n; t++) {
      instants.push(t);
      const m = adaptiveScales(outcomes, instants, 0.1, 0.9, step);
      for (let i = 0; i < 10; i++) {
        const residual = draw(t, r);
        outcomes.push({ residual, lo: -10, hi: 10, issuedAt: t, knownAt: t + delay });
        if (t >= n / 2) {
          scored++;
          if (residual < -10 * m.lo) lo++;
          if (residual > 10 * m.hi) hi++;
        }
      }
    }
    return { lo: lo / scored, hi: hi / scored, final: adaptiveScales(outcomes, instants, 0.1, 0.9, step) };
  }
  // ±10 is the P10/P90 of a normal with sd 10/1.2816.
  const sd = 10 / 1.2816;

  test('errors twice as large as the offsets assumed: both tails stretch about 2× and miss ~10 % each', () => {
    const wide = run(400, 0.02, (_, r) => 2 * sd * normal(r));
    assert.ok(Math.abs(wide.lo - 0.1) < 0.03 && Math.abs(wide.hi - 0.1) < 0.03, JSON.stringify(wide));
    assert.ok(wide.final.lo > 1.5 && wide.final.lo < 2.7 && wide.final.hi > 1.5 && wide.final.hi < 2.7, JSON.stringify(wide.final));
    const fixed = run(400, 0, (_, r) => 2 * sd * normal(r));
    assert.deepEqual(fixed.final, { lo: 1, hi: 1 });
    assert.ok(fixed.lo > 0.25, `without tracking the lower tail misses ${fixed.lo}`);
  });

  test('errors shifted up: the upper tail stretches, the lower shrinks; the multipliers stay within their cap', () => {
    const up = run(400, 0.02, (_, r) => 8 + sd * normal(r));
    assert.ok(up.final.hi > 1.4 && up.final.lo < 0.8, JSON.stringify(up.final));
    assert.ok(Math.abs(up.hi - 0.1) < 0.03, `upper tail missed ${up.hi}`);
    const huge = run(200, 0.5, () => 1e6);
    assert.ok(Math.abs(huge.final.hi - MAX_TAIL_SCALE) < 1e-9 && Math.abs(huge.final.lo - 1 / MAX_TAIL_SCALE) < 1e-9, JSON.stringify(huge.final));
    assert.throws(() => adaptiveScales([], [0], 0.1, 0.9, Number.NaN), /step/);
  });
});
