/**
 * The rules people use today. None uses the battery or looks at price, except where said.
 */
import type { Horizon } from '../../agents/compute/planner/index.ts';
import type { Rule, RunItem, StartItem } from './dispatch.ts';

const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a + 1) }, (_, i) => a + i);

/** Run on arrival: start at the first slot with room. */
export const runOnArrival: Rule = {
  name: 'run-on-arrival',
  rankStarts: (h, it) => range(it.earliest, h.n - 1),
  rankSlots: (h, it) => range(it.earliest, h.n - 1),
};

/** Mean carbon over the run starting at s (the Carbon Aware SDK's rolling average). */
function windowMean(h: Horizon, s: number, len: number): number {
  let sum = 0;
  let k = 0;
  for (; k < len && s + k < h.n; k++) sum += h.intensity[s + k]!;
  return sum / Math.max(1, k);
}

/** Latest on-time start, within the horizon. */
function lastOnTime(h: Horizon, it: StartItem): number {
  return Math.min(h.n - 1, Math.max(it.earliest, it.onTimeLast));
}

/**
 * Threshold: run while the forecast carbon is below X; otherwise wait, until the deadline
 * forces a start (the latest start that is still on time).
 */
export function thresholdRule(xGPerKwh: number): Rule {
  return {
    name: `threshold-${xGPerKwh}`,
    rankStarts: (h, it) => {
      const last = lastOnTime(h, it);
      const clean = range(it.earliest, last).filter((s) => h.intensity[s]! < xGPerKwh);
      return clean.length ? clean : [last, ...range(last + 1, h.n - 1)];
    },
    rankSlots: (h, it) => {
      const end = Math.min(h.n, Math.max(it.earliest + 1, it.onTimeEnd));
      const need = Math.ceil(it.remKwh / (it.powerKw * 0.5) - 1e-9);
      const window = range(it.earliest, end - 1);
      const clean = window.filter((s) => h.intensity[s]! < xGPerKwh);
      // Clean slots in time order, but keep back the last `need` slots before the deadline as the forced run.
      const forced = window.slice(-need).reverse();
      return [...clean, ...forced.filter((s) => !clean.includes(s)), ...range(end, h.n - 1)];
    },
  };
}

/** Carbon Aware SDK best window: the contiguous start with the lowest mean forecast in the job's window. */
export const bestWindow: Rule = {
  name: 'best-window',
  rankStarts: (h, it) => {
    const len = it.frac.length;
    return range(it.earliest, lastOnTime(h, it)).sort((a, b) => windowMean(h, a, len) - windowMean(h, b, len) || a - b);
  },
  rankSlots: () => null,
};

/** Let's Wait Awhile, interruptible: a preemptible job runs in the k lowest-carbon slots of its window. */
export const lowestK: Rule = {
  name: 'lowest-k',
  rankStarts: bestWindow.rankStarts,
  rankSlots: (h: Horizon, it: RunItem) => {
    const end = Math.min(h.n, Math.max(it.earliest + 1, it.onTimeEnd));
    return [...range(it.earliest, end - 1).sort((a, b) => h.intensity[a]! - h.intensity[b]! || a - b), ...range(end, h.n - 1)];
  },
};
