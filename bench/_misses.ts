import type { SimResult } from '../sim/policies/index.ts';

/**
 * A policy's few misses, one line each: whether a job was a capacity squeeze (little slack,
 * late by minutes) or a planning error (hours of slack, late by hours) shows in the numbers.
 */
export function printMisses(r: SimResult, atMost = 5): void {
  if (r.deadlineMisses === 0 || r.deadlineMisses > atMost) return;
  for (const m of r.missed) {
    console.log(`    missed ${m.jobId} (${m.class}, ${Math.round(m.powerKw)} kW, ${m.runtimeMin} min, slack ${Math.round(m.slackMin)} min${m.feasibleOnArrival ? '' : ', not feasible on arrival'}): ${Number.isFinite(m.lateMin) ? `${Math.round(m.lateMin)} min late` : 'never finished'}`);
  }
}
