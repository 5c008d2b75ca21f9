import type { DataOf } from '../../schemas/index.ts';
import type { JobCompleted, SiteMetered } from '../../schemas/index.ts';
import type { SiteConfig } from './jobs/index.ts';
import { settlementPeriodOf } from '../../core/time/index.ts';
import { HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';
import { forecastSignals } from './signals.ts';
import { isDone } from './progress.ts';
import { iso, round } from './ledger-format.ts';
import type { ComputeState } from './state.ts';

/** What the site did in the half-hour just ended, as dispatched, within what it physically could. */
export interface HalfHourMetered {
  readonly read: DataOf<typeof SiteMetered>;
  /** The site battery's state of charge at the end of the half-hour. */
  readonly socKwh: number;
  /** Minutes of work done by each job that ran, after the half-hour. */
  readonly doneAfter: ReadonlyMap<string, number>;
  /** The jobs that finished in it, booked on the realised signals. */
  readonly completed: ReadonlyArray<DataOf<typeof JobCompleted>>;
}

/**
 * Meter the half-hour ending at `t`, when the plan dispatched it and it has not been metered
 * yet (else null): each job runs at its dispatched kW until its work is done, the battery does
 * what the plan said within its power and state of charge, and the energy is booked at the
 * observed price and carbon (the forecast where none was observed).
 */
export function meterHalfHour(site: SiteConfig, s: ComputeState, t: number): HalfHourMetered | null {
  const disp = s.dispatch;
  const prev = t - SLOT_MS;
  if (!disp || disp.slotStartMs !== prev || s.lastMeterSlotMs === prev) return null;
  const observed = s.actuals.get(prev);
  const fallback = forecastSignals(s, prev);
  const price = observed?.price ?? fallback.priceGbpPerMwh[0]!;
  const carbon = observed?.carbon ?? fallback.intensityGPerKwh[0]!;
  let itKw = 0;
  const byClass = { training: 0, 'batch-inference': 0, serving: 0 };
  const runs: Array<{ jobId: string; kw: number }> = [];
  const doneAfter = new Map<string, number>();
  const completed: Array<DataOf<typeof JobCompleted>> = [];
  for (const run of disp.runs) {
    const r = s.jobs.get(run.jobId);
    if (!r || r.status === 'done') continue;
    const left = r.job.runtimeMin - r.doneMin;
    // Never above the job's own power, whatever the dispatch said (firstHalfHour keeps to it).
    const kw = Math.min(run.kw, r.job.powerKw, (r.job.powerKw * left) / 30);
    if (kw <= 1e-9) continue;
    itKw += kw;
    byClass[r.job.class] += kw * 0.5;
    // The job's progress is rebuilt from these kW (evolve): at full power, the job's own kW as
    // it is, since rounded to 1 W a 1.4 W job counted 21 of its 30 minutes (its power is on
    // the 1 W grid for every other job, so the ledger reads the same as rounded).
    // Below it, rounded to 1 W but never past the job's own (a 1.6 W job's last 29 minutes,
    // 1.55 W, read 2 W and counted 37.5 minutes; a helper's review).
    // At least 1 W, as the dispatch: a last piece under 0.5 W read 0 W.
    let recordedKw = kw >= r.job.powerKw ? r.job.powerKw : Math.min(r.job.powerKw, Math.max(0.001, round(kw, 3)));
    // The piece that finishes the job is recorded rounded up when rounding to 1 W would leave
    // the recorded work short of the job (jobs under ~0.3 kW): judged on the kW recorded, from
    // which evolve rebuilds progress, such a job was completed half an hour late (and marked
    // late); judged on the kW before rounding, it was completed with the ledger holding 30.9 of
    // its 31 minutes, and a tick cut short after the read would have run it again (two reviews).
    if (isDone(r.doneMin + 30 * (kw / r.job.powerKw), r.job.runtimeMin) && !isDone(r.doneMin + 30 * (recordedKw / r.job.powerKw), r.job.runtimeMin)) {
      recordedKw = Math.min(r.job.powerKw, Math.ceil(kw * 1000 - 1e-9) / 1000);
    }
    runs.push({ jobId: run.jobId, kw: recordedKw });
    const done = r.doneMin + 30 * (recordedKw / r.job.powerKw);
    doneAfter.set(r.job.id, done);
    if (isDone(done, r.job.runtimeMin)) {
      // It runs at full power from the half-hour's start until done.
      const endMs = prev + Math.round(left * 60_000);
      completed.push({
        jobId: r.job.id,
        at: iso(Math.min(endMs, t)),
        energyKwh: round(r.energyKwh + kw * 0.5),
        costGbp: round(r.costGbp + (kw * 0.5 * site.pue * price) / 1000),
        carbonKg: round(r.carbonKg + (kw * 0.5 * site.pue * carbon) / 1000),
        late: Math.min(endMs, t) > r.job.deadlineMs + 1,
      });
    }
  }
  const { chargeKw: ch, dischargeKw: dis, socKwh } = batteryHalfHour(site, s.socKwh, disp.chargeKw, disp.dischargeKw, itKw * site.pue);
  const sp = settlementPeriodOf(prev);
  return {
    socKwh,
    doneAfter,
    completed,
    read: {
      periodStart: iso(prev),
      settlementDate: sp.settlementDate,
      settlementPeriod: sp.settlementPeriod,
      itKwh: round(itKw * 0.5, 3),
      importKwh: round((itKw * site.pue + ch - dis) * 0.5, 3),
      batteryChargeKwh: round(ch * 0.5, 3),
      batteryDischargeKwh: round(dis * 0.5, 3),
      batterySocKwh: round(socKwh, 3),
      carbonGPerKwh: carbon,
      priceGbpPerMwh: price,
      byClassKwh: { training: round(byClass.training, 3), 'batch-inference': round(byClass['batch-inference'], 3), serving: round(byClass.serving, 3) },
      signals: observed?.price != null && observed?.carbon != null ? 'observed' : 'forecast',
      jobs: runs,
    },
  };
}

/**
 * The site battery over one half-hour: it charges and discharges as planned, within its power,
 * its state-of-charge limits and (discharging) the load it can serve; √η is lost each way.
 */
export function batteryHalfHour(site: SiteConfig, socKwh: number, chargeKw: number, dischargeKw: number, loadKw: number): { chargeKw: number; dischargeKw: number; socKwh: number } {
  // Never both in one half-hour (a dispatch recorded before dispatches were netted could ask it).
  if (chargeKw > 0 && dischargeKw > 0) {
    const net = chargeKw - dischargeKw;
    chargeKw = Math.max(0, net);
    dischargeKw = Math.max(0, -net);
  }
  const bat = site.battery;
  const eta = Math.sqrt(bat.roundTripEfficiency);
  const ch = Math.min(chargeKw, bat.powerKw, Math.max(0, (bat.maxSocFraction * bat.energyKwh - socKwh) / (0.5 * eta)));
  const dis = Math.min(dischargeKw, bat.powerKw, Math.max(0, ((socKwh - bat.minSocFraction * bat.energyKwh) * eta) / 0.5), loadKw + ch);
  return { chargeKw: ch, dischargeKw: dis, socKwh: Math.max(0, socKwh + 0.5 * (eta * ch - dis / eta)) };
}

/**
 * A tick cut short after its meter read (a crash before the rest was appended): the read is on
 * the ledger and already in the state, so the jobs it finished are completed from it.
 */
export function completionsOfLastRead(s: ComputeState, t: number): Array<DataOf<typeof JobCompleted>> {
  const prev = t - SLOT_MS;
  if (s.lastMeterSlotMs !== prev) return [];
  const out: Array<DataOf<typeof JobCompleted>> = [];
  for (const run of s.lastMeterJobs) {
    const r = s.jobs.get(run.jobId);
    if (!r || r.status === 'done' || !isDone(r.doneMin, r.job.runtimeMin)) continue;
    const left = r.job.runtimeMin - (r.doneMin - 30 * (run.kw / r.job.powerKw));
    const endMs = Math.min(prev + Math.round(left * 60_000), t);
    out.push({ jobId: r.job.id, at: iso(endMs), energyKwh: round(r.energyKwh), costGbp: round(r.costGbp), carbonKg: round(r.carbonKg), late: endMs > r.job.deadlineMs + 1 });
  }
  return out;
}
