/**
 * An independent check of a plan before anything acts on it. It shares no code with the
 * formulation: it recomputes every quantity from the plan's own numbers, the jobs, the site
 * and the signals, so a modelling bug shows up here rather than on the meter.
 */
import type { SiteConfig } from '../jobs/index.ts';
import type { PlanJob, PlanResult, Signals } from './types.ts';
import { HALF_HOUR_MS as HALF_HOUR, HOUR_MS } from '../../../core/time/index.ts';

export interface PlanProblem {
  readonly code:
    | 'shape'
    | 'capacity'
    | 'import-cap'
    | 'site-balance'
    | 'battery-power'
    | 'soc-bounds'
    | 'energy-balance'
    | 'job-missing'
    | 'job-power'
    | 'release'
    | 'deadline'
    | 'job-energy'
    | 'contiguity'
    | 'signals';
  readonly message: string;
  readonly jobId?: string;
  readonly slot?: number;
}

export interface ValidatePlanOptions {
  /** State of charge at the start of the plan (default: implied by the first slot). */
  readonly batterySocKwh?: number;
  /** Per-slot import caps the plan had to respect (default: the site's connection limit). */
  readonly importCapKw?: ReadonlyArray<number>;
}


export function validatePlan(plan: PlanResult, jobs: ReadonlyArray<PlanJob>, site: SiteConfig, signals: Signals, opts: ValidatePlanOptions = {}): PlanProblem[] {
  const out: PlanProblem[] = [];
  const n = plan.horizonSlots;
  const slotMs = plan.slotMs;
  const slotH = slotMs / HOUR_MS;
  const tol = (v: number) => 1e-3 + 1e-6 * Math.abs(v);
  if (slotMs !== HALF_HOUR) out.push({ code: 'shape', message: `slots must be half an hour, got ${slotMs} ms` });
  if (plan.slots.length !== n) {
    out.push({ code: 'shape', message: `plan has ${plan.slots.length} slots, expected ${n}` });
    return out;
  }
  const bat = site.battery;
  const eta = Math.sqrt(bat.roundTripEfficiency);
  const first = plan.slots[0];
  let soc = opts.batterySocKwh ?? (first ? first.socKwh - slotH * (eta * first.chargeKw - first.dischargeKw / eta) : 0);
  const socMin = Math.min(bat.minSocFraction * bat.energyKwh, soc);
  const socMax = Math.max(bat.maxSocFraction * bat.energyKwh, soc);

  // Job load per slot, from the job plans.
  const jobKw = new Float64Array(n);
  for (const jp of plan.jobs) for (const r of jp.runs) if (r.slot >= 0 && r.slot < n) jobKw[r.slot]! += r.kw;

  const sigOff = Math.round((plan.nowMs - signals.startMs) / slotMs);
  for (let s = 0; s < n; s++) {
    const sp = plan.slots[s]!;
    if (sp.startMs !== plan.nowMs + s * slotMs) out.push({ code: 'shape', slot: s, message: `slot ${s} starts at ${sp.startMs}, expected ${plan.nowMs + s * slotMs}` });
    if (sp.itKw > site.itCapacityKw + tol(site.itCapacityKw)) out.push({ code: 'capacity', slot: s, message: `slot ${s}: IT ${sp.itKw.toFixed(1)} kW above capacity ${site.itCapacityKw} kW` });
    if (Math.abs(sp.itKw - jobKw[s]!) > tol(sp.itKw)) out.push({ code: 'capacity', slot: s, message: `slot ${s}: IT ${sp.itKw.toFixed(3)} kW but the jobs add up to ${jobKw[s]!.toFixed(3)} kW` });
    const expectSite = sp.itKw * site.pue + sp.chargeKw - sp.dischargeKw;
    if (Math.abs(sp.siteKw - expectSite) > tol(expectSite)) out.push({ code: 'site-balance', slot: s, message: `slot ${s}: site ${sp.siteKw.toFixed(3)} kW ≠ IT×PUE + charge − discharge = ${expectSite.toFixed(3)} kW` });
    if (sp.siteKw < -tol(0)) out.push({ code: 'site-balance', slot: s, message: `slot ${s}: site import ${sp.siteKw.toFixed(3)} kW is negative (export is not modelled)` });
    const cap = opts.importCapKw?.[s] ?? site.importCapKw;
    if (sp.siteKw > cap + tol(cap)) out.push({ code: 'import-cap', slot: s, message: `slot ${s}: site ${sp.siteKw.toFixed(1)} kW above the import cap ${cap} kW` });
    for (const [name, v] of [['charge', sp.chargeKw], ['discharge', sp.dischargeKw]] as const) {
      if (v < -tol(0) || v > bat.powerKw + tol(bat.powerKw)) out.push({ code: 'battery-power', slot: s, message: `slot ${s}: ${name} ${v.toFixed(1)} kW outside 0..${bat.powerKw} kW` });
    }
    const next = soc + slotH * (eta * sp.chargeKw - sp.dischargeKw / eta);
    if (Math.abs(next - sp.socKwh) > tol(next)) out.push({ code: 'energy-balance', slot: s, message: `slot ${s}: SoC ${sp.socKwh.toFixed(3)} kWh, but charge/discharge from ${soc.toFixed(3)} gives ${next.toFixed(3)} kWh` });
    soc = sp.socKwh;
    if (soc < socMin - tol(socMin) || soc > socMax + tol(socMax)) out.push({ code: 'soc-bounds', slot: s, message: `slot ${s}: SoC ${soc.toFixed(1)} kWh outside ${socMin}..${socMax} kWh` });
    const pi = sigOff + s;
    const price = signals.priceGbpPerMwh[Math.min(pi, signals.priceGbpPerMwh.length - 1)];
    if (pi < 0 || price === undefined) out.push({ code: 'signals', slot: s, message: `slot ${s}: no signal` });
  }

  const byId = new Map(plan.jobs.map((j) => [j.jobId, j]));
  const horizonEnd = plan.nowMs + n * slotMs;
  for (const job of jobs) {
    const jp = byId.get(job.id);
    const remMin = Math.max(0, job.runtimeMin - (job.doneMin ?? 0));
    if (remMin <= 1e-9) continue;
    if (!jp) {
      out.push({ code: 'job-missing', jobId: job.id, message: `job ${job.id} is not in the plan` });
      continue;
    }
    const remKwh = (job.powerKw * remMin) / 60;
    const running = !job.preemptible && job.startedMs !== undefined;
    let inKwh = 0;
    let lastEnd = -Infinity;
    let prevSlot = -2;
    for (const r of jp.runs) {
      const start = plan.nowMs + r.slot * slotMs;
      if (r.kw > job.powerKw + tol(job.powerKw)) out.push({ code: 'job-power', jobId: job.id, slot: r.slot, message: `job ${job.id} draws ${r.kw.toFixed(2)} kW in slot ${r.slot}, above its ${job.powerKw} kW` });
      if (!running && start < job.earliestStartMs - 1) out.push({ code: 'release', jobId: job.id, slot: r.slot, message: `job ${job.id} runs in slot ${r.slot} before its release ${new Date(job.earliestStartMs).toISOString()}` });
      inKwh += r.kw * slotH;
      lastEnd = Math.max(lastEnd, start + slotMs);
      if (!job.preemptible) {
        if (prevSlot >= -1 && r.slot !== prevSlot + 1) out.push({ code: 'contiguity', jobId: job.id, slot: r.slot, message: `non-preemptible job ${job.id} has a gap before slot ${r.slot}` });
        prevSlot = r.slot;
      }
    }
    if (!job.preemptible && jp.runs.length > 0) {
      // Every slot but the last at full power; the job must start at slot 0 if already running.
      for (let k = 0; k < jp.runs.length - 1; k++) {
        const r = jp.runs[k]!;
        if (Math.abs(r.kw - job.powerKw) > tol(job.powerKw)) out.push({ code: 'job-power', jobId: job.id, slot: r.slot, message: `non-preemptible job ${job.id} runs at ${r.kw.toFixed(2)} kW in slot ${r.slot}, not its ${job.powerKw} kW` });
      }
      if (running && jp.runs[0]!.slot !== 0) out.push({ code: 'contiguity', jobId: job.id, message: `running job ${job.id} must continue in slot 0` });
      if (job.class === 'serving' && !running) {
        const release = Math.max(plan.nowMs, Math.ceil(job.earliestStartMs / slotMs) * slotMs);
        if (plan.nowMs + jp.runs[0]!.slot * slotMs !== release) out.push({ code: 'release', jobId: job.id, message: `serving job ${job.id} must start at its release` });
      }
    }
    if (jp.kind === 'unplaced') continue;
    const reachesEnd = jp.runs.length > 0 && jp.runs[jp.runs.length - 1]!.slot === n - 1;
    if (job.preemptible) {
      if (Math.abs(inKwh + jp.deferredKwh - remKwh) > tol(remKwh)) out.push({ code: 'job-energy', jobId: job.id, message: `job ${job.id}: ${inKwh.toFixed(2)} kWh planned + ${jp.deferredKwh.toFixed(2)} kWh deferred ≠ ${remKwh.toFixed(2)} kWh remaining` });
      const deferCap = Math.max(0, (job.powerKw * (job.deadlineMs - Math.max(horizonEnd, job.earliestStartMs))) / HOUR_MS);
      if (jp.deferredKwh > deferCap + tol(deferCap)) out.push({ code: 'deadline', jobId: job.id, message: `job ${job.id} defers ${jp.deferredKwh.toFixed(1)} kWh, more than fits between the horizon's end and its deadline` });
    } else if (jp.kind === 'scheduled' && !reachesEnd && Math.abs(inKwh - remKwh) > tol(remKwh)) {
      out.push({ code: 'job-energy', jobId: job.id, message: `job ${job.id}: ${inKwh.toFixed(2)} kWh planned ≠ ${remKwh.toFixed(2)} kWh remaining` });
    } else if (jp.kind === 'deferred' && job.deadlineMs - remMin * 60_000 < horizonEnd - 1) {
      out.push({ code: 'deadline', jobId: job.id, message: `job ${job.id} is deferred beyond the horizon but must start before it to be on time` });
    }
    if (jp.latenessH <= 1e-9 && lastEnd > job.deadlineMs + 1) {
      const end = job.preemptible ? lastEnd - slotMs + Math.min(slotMs, ((jp.runs[jp.runs.length - 1]?.kw ?? 0) / job.powerKw) * slotMs) : (jp.endMs ?? lastEnd);
      if (end > job.deadlineMs + 1) out.push({ code: 'deadline', jobId: job.id, message: `job ${job.id} runs until ${new Date(end).toISOString()}, after its deadline, but the plan says it is on time` });
    }
  }
  return out;
}
