import { defineAgent, type AgentContext, type AgentDefinition, type AgentInput, type Decision, type EventToAppend } from '../../core/runtime/agent.ts';
import { STREAM_NAME } from '../../core/envelope.ts';
import { settlementPeriodOf } from '../../core/time/settlement-periods.ts';
import { validateJob, type Job, type JobProblem, type SiteConfig } from './jobs/index.ts';
import { plan as runPlanner, validatePlan, type PlanInput, type PlanJob, type PlanOptions, type PlanResult, type Signals, type OnsiteTier } from './planner/index.ts';
import { flexWindows, tightArrivalsByDay, DEFAULT_FLEX_WINDOWS, type FlexWindowOptions } from './flex-windows.ts';
import { initialComputeState, makeEvolve, type ComputeState, type JobRecord } from './state.ts';
import { pinProblems, releaseProblems } from './job-authority.ts';
import type { Principal } from '../../core/identity/key-entry.ts';
import { rejection } from './rejection.ts';
import { flexCapsFor, type FlexCaps } from './flex-caps.ts';
import { onsiteTiers } from './onsite-offers.ts';
import { coverWindows } from './cover-windows.ts';
import { DAY_MS, HALF_HOUR_MS as SLOT_MS } from '../../core/time/index.ts';

const HORIZON_SLOTS = 96;
/** The longest window the planner looks over: 7 days. */
const LONG_HORIZON_SLOTS = 336;
/** Slots ahead for which flexibility can be offered (the coordination agent sells ≤ 12 h ahead). */
const OFFER_SLOTS = 26;
/** Work left below this (minutes) counts as done: kW are rounded on the ledger, so sums drift by a hair. */
const DONE_EPS_MIN = 0.05;

export interface RuntimePrediction {
  readonly minutes: number;
  readonly model: string;
}

export interface ComputeAgentDeps {
  readonly site: SiteConfig;
  readonly planOptions?: PlanOptions;
  /** Predicts a runtime from job features when a submission gives none. */
  readonly predictRuntime?: (features: Readonly<Record<string, string | number>>) => Promise<RuntimePrediction | null> | RuntimePrediction | null;
  readonly flexWindows?: FlexWindowOptions;
  readonly initialSocKwh?: number;
  /** Called with each plan (for benchmarks and the dashboard); not part of the ledger. */
  readonly onPlan?: (plan: PlanResult) => void;
}

interface SubmitData {
  jobId: string;
  class: Job['class'];
  powerKw?: number;
  gpuCount?: number;
  runtimeMin?: number;
  features?: Record<string, string | number>;
  earliestStart: string;
  deadline: string;
  slaClass: Job['slaClass'];
  preemptible: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * The compute agent owns the jobs and the plan. Each half-hour it meters the half-hour just
 * ended, books what each job used on the observed signals, re-plans the next 48 h with the
 * latest forecast, battery and import caps (HiGHS, checked by the independent validator),
 * dispatches the first half-hour and offers the plan's slack as flexibility. Arrivals get a
 * provisional place at once; operators can pin and release jobs.
 */
export function createComputeAgent(deps: ComputeAgentDeps): AgentDefinition<ComputeState> {
  const site = deps.site;
  const initialSoc = deps.initialSocKwh ?? site.battery.energyKwh * 0.5;
  // The last plan, for a warm start. Not state: losing it on restart only costs a cold solve.
  let lastPlan: PlanResult | undefined;
  const evolve = makeEvolve(site.pue);
  // Timers live in memory: remember the latest armed so a retried decide does not arm it twice.
  let armedAt = Number.NEGATIVE_INFINITY;
  const arm = (ctx: AgentContext, atMs: number) => {
    if (atMs <= armedAt) return;
    armedAt = atMs;
    ctx.setTimer(atMs, 'tick');
  };

  return defineAgent<ComputeState>({
    name: 'compute',
    version: '1.0.0',
    categories: ['job', 'plan', 'meter', 'intake'],
    subscriptions: ['flex.order.confirmed', 'flex.order.cancelled', 'flex.order.updated', 'onsite.energy.offered'],
    observes: [
      'grid.forecast.published',
      'grid.signal.observed',
      'flex.order.confirmed',
      'flex.order.cancelled',
      'flex.order.updated',
      'onsite.energy.offered',
      'onsite.battery.state.reported',
    ],
    commands: { submit: 'compute.job.submit', pin: 'compute.job.pin', release: 'compute.job.release' },
    // evolve updates the state in place, so every rebuild needs a new one.
    initialState: () => initialComputeState(initialSoc),
    evolve,
    onStart(ctx, state) {
      armedAt = Number.NEGATIVE_INFINITY;
      const now = ctx.now();
      // Every half-hour since the last one dispatched is run once, in order, so a restart (or a
      // crash in the middle of a tick) loses no half-hour of metering, starts or completions.
      const last = state.dispatch?.slotStartMs;
      if (last !== undefined) {
        const missed = Math.max(0, Math.floor((now - last) / SLOT_MS));
        if (missed > 1) ctx.log.info({ missed, from: iso(last + SLOT_MS) }, 'catching up the half-hours missed while stopped');
        for (let t = last + SLOT_MS; t <= now; t += SLOT_MS) arm(ctx, t);
      }
      arm(ctx, Math.ceil(now / SLOT_MS) * SLOT_MS);
    },
    async decide(input, state, ctx) {
      if (input.kind === 'timer' && input.name === 'tick') {
        arm(ctx, input.atMs + SLOT_MS);
        // A tick appends its plan last, so a plan for this half-hour means the tick is complete.
        if (state.dispatch !== null && state.dispatch.slotStartMs >= input.atMs) return [];
        return tick(input.atMs, state, ctx);
      }
      if (input.kind === 'command') {
        if (input.command.type === 'compute.job.submit') return submit(input.command.data as SubmitData, state, ctx, input.command.principal);
        if (input.command.type === 'compute.job.pin') return pin(input, state);
        if (input.command.type === 'compute.job.release') return release(input, state);
      }
      if (input.kind === 'event' && input.event.type === 'onsite.energy.offered') {
        // An outside operator's offer (already evolved, if it came through the gateway) changes
        // what energy costs in its window: re-plan from the next half-hour, from scratch, as
        // an incremental re-plan would keep the starts chosen without it.
        if (input.event.stream !== `ext-${input.event.source}`) return [];
        const d = input.event.data as { assetId: string };
        lastPlan = undefined;
        const nextSlot = Math.ceil((ctx.now() + 1) / SLOT_MS) * SLOT_MS;
        return replan(nextSlot, state, ctx, `energy offered by ${input.event.source} (${d.assetId})`, false);
      }
      if (input.kind === 'event') {
        // A flexibility order changed the import caps (already evolved): re-plan from the next
        // half-hour so the commitment holds, keeping what the site is doing now.
        const nextSlot = Math.ceil((ctx.now() + 1) / SLOT_MS) * SLOT_MS;
        const d = input.event.data as { orderId: string };
        return replan(nextSlot, state, ctx, `flexibility order ${d.orderId} ${input.event.type.split('.').pop()}`, false);
      }
      return [];
    },
  });

  async function submit(d: SubmitData, s: ComputeState, ctx: AgentContext, by: Principal | undefined): Promise<Decision[]> {
    const reject = (problems: JobProblem[]): Decision[] => [{ stream: 'intake-main', events: [rejection(d.jobId, problems)] }];
    if (!STREAM_NAME.test(`job-${d.jobId}`)) return reject([{ field: 'jobId', reason: 'use letters, digits, "_", ":" and "-" only (1 to 128 characters)' }]);
    if (s.jobs.has(d.jobId)) return reject([{ field: 'jobId', reason: 'a job with this id was already submitted' }]);
    const problems: JobProblem[] = [];
    let powerKw = d.powerKw;
    if (powerKw === undefined && d.gpuCount !== undefined) powerKw = d.gpuCount * site.perGpuKw;
    if (powerKw === undefined) problems.push({ field: 'powerKw', reason: 'give powerKw or gpuCount' });
    let runtimeMin = d.runtimeMin;
    let runtimeSource: 'given' | 'predicted' = 'given';
    let runtimeModel: string | null = null;
    if (runtimeMin === undefined) {
      const p = d.features && deps.predictRuntime ? await deps.predictRuntime(d.features) : null;
      if (p) {
        // Runtimes are planned in whole minutes; round up, as under-prediction is what breaks deadlines.
        runtimeMin = Math.max(1, Math.ceil(p.minutes));
        runtimeSource = 'predicted';
        runtimeModel = p.model;
      } else problems.push({ field: 'runtimeMin', reason: d.features ? 'no runtime given and the runtime model could not predict one from the features' : 'give runtimeMin, or features for the runtime model' });
    }
    if (problems.length) return reject(problems);
    const job: Job = {
      id: d.jobId,
      class: d.class,
      powerKw: powerKw!,
      ...(d.gpuCount !== undefined ? { gpuCount: d.gpuCount } : {}),
      runtimeMin: runtimeMin!,
      runtimeSource,
      earliestStartMs: Date.parse(d.earliestStart),
      deadlineMs: Date.parse(d.deadline),
      slaClass: d.slaClass,
      preemptible: d.preemptible,
    };
    const invalid = validateJob(job, site);
    if (invalid.length) return reject(invalid);
    const submitted: EventToAppend = {
      type: 'compute.job.submitted',
      data: {
        jobId: job.id,
        class: job.class,
        powerKw: job.powerKw,
        gpuCount: job.gpuCount ?? null,
        runtimeMin: job.runtimeMin,
        runtimeSource,
        runtimeModel,
        earliestStart: d.earliestStart,
        deadline: d.deadline,
        slaClass: job.slaClass,
        preemptible: job.preemptible,
        submittedBy: by ?? null,
      },
    };
    const provisional = provisionalPlacement(job, s, ctx.now());
    return [{ stream: `job-${job.id}`, expected: 'no-stream', events: [submitted, { type: 'compute.job.planned', data: provisional }] }];
  }

  function pin(input: Extract<AgentInput, { kind: 'command' }>, s: ComputeState): Decision[] {
    const d = input.command.data as { jobId: string; startAt: string; operator: string; reason?: string };
    const r = s.jobs.get(d.jobId);
    if (!r) return [{ stream: 'intake-main', events: [rejection(d.jobId, [{ field: 'jobId', reason: 'no job with this id' }])] }];
    const by = input.command.principal;
    const at = Date.parse(d.startAt);
    const problems = pinProblems(r, at, by);
    if (problems.length) return [{ stream: 'intake-main', events: [rejection(d.jobId, problems)] }];
    return [{ stream: `job-${d.jobId}`, expected: r.revision, events: [{ type: 'compute.job.pinned', data: { jobId: d.jobId, startAt: iso(at), operator: d.operator, reason: d.reason ?? '', by: by ?? null } }] }];
  }

  function release(input: Extract<AgentInput, { kind: 'command' }>, s: ComputeState): Decision[] {
    const d = input.command.data as { jobId: string; operator: string; reason?: string };
    const r = s.jobs.get(d.jobId);
    const by = input.command.principal;
    const problems = r ? releaseProblems(r, by) : [{ field: 'jobId', reason: 'no job with this id' }];
    if (problems.length) return [{ stream: 'intake-main', events: [rejection(d.jobId, problems)] }];
    return [{ stream: `job-${d.jobId}`, expected: r!.revision, events: [{ type: 'compute.job.released', data: { jobId: d.jobId, operator: d.operator, reason: d.reason ?? '', by: by ?? null } }] }];
  }

  /** Forecast signals for 96 slots from `t`: the grid agent's p50, else same time yesterday. */
  function signalsAt(t: number, s: ComputeState): Signals {
    const price: number[] = [];
    const carbon: number[] = [];
    const f = s.forecast;
    for (let i = 0; i < HORIZON_SLOTS; i++) {
      const at = t + i * SLOT_MS;
      const k = f ? Math.round((at - f.startMs) / SLOT_MS) : -1;
      if (f && k >= 0 && k < f.price.length) {
        price.push(f.price[k]!);
        carbon.push(f.carbon[k]!);
        continue;
      }
      // Fall back to the latest observation at the same time of day.
      let obs: { carbon: number | null; price: number | null } | undefined;
      for (let back = 1; back <= 7 && !obs?.price; back++) obs = s.actuals.get(at - back * DAY_MS);
      price.push(obs?.price ?? price[price.length - 1] ?? 80);
      carbon.push(obs?.carbon ?? carbon[carbon.length - 1] ?? 150);
    }
    return { startMs: t, priceGbpPerMwh: price, intensityGPerKwh: carbon };
  }

  /**
   * What the job costs from `startMs`. With `onsite` (tiers by slot from sig.startMs), energy an
   * outside asset offers in a slot, when cheaper than the grid, supplies the job first: an
   * estimate for the provisional place on arrival, before the re-plan sees the whole site's load.
   */
  function costOf(job: Job, startMs: number, sig: Signals, onsite?: ReadonlyMap<number, ReadonlyArray<OnsiteTier>>): { costGbp: number; carbonKg: number } {
    let costGbp = 0;
    let carbonKg = 0;
    let left = job.runtimeMin;
    const carbonPrice = site.carbonPriceGbpPerT / 1000;
    for (let t = startMs; left > 0; t += SLOT_MS) {
      const i = Math.min(sig.priceGbpPerMwh.length - 1, Math.max(0, Math.round((t - sig.startMs) / SLOT_MS)));
      const min = Math.min(30, left);
      let kwh = (job.powerKw * site.pue * min) / 60;
      const gridPrice = sig.priceGbpPerMwh[i]!;
      const gridCarbon = sig.intensityGPerKwh[i]!;
      const tiers = [...(onsite?.get(Math.round((t - sig.startMs) / SLOT_MS)) ?? [])]
        .filter((x) => x.priceGbpPerMwh + x.intensityGPerKwh * carbonPrice < gridPrice + gridCarbon * carbonPrice)
        .sort((a, b) => a.priceGbpPerMwh + a.intensityGPerKwh * carbonPrice - (b.priceGbpPerMwh + b.intensityGPerKwh * carbonPrice));
      for (const x of tiers) {
        const take = Math.min(kwh, (x.kw * min) / 60);
        costGbp += (take * x.priceGbpPerMwh) / 1000;
        carbonKg += (take * x.intensityGPerKwh) / 1000;
        kwh -= take;
      }
      costGbp += (kwh * gridPrice) / 1000;
      carbonKg += (kwh * gridCarbon) / 1000;
      left -= min;
    }
    return { costGbp: round(costGbp), carbonKg: round(carbonKg) };
  }

  /** At arrival: the cheapest on-time start by the forecast, before the next full re-plan checks room. */
  function provisionalPlacement(job: Job, s: ComputeState, now: number): Record<string, unknown> {
    const first = Math.max(Math.ceil(now / SLOT_MS), Math.ceil(job.earliestStartMs / SLOT_MS)) * SLOT_MS;
    const sig = signalsAt(first, s);
    const onsite = new Map<number, OnsiteTier[]>();
    for (const x of onsiteTiers({ t0Ms: first, slots: HORIZON_SLOTS, slotMs: SLOT_MS, offers: s.onsiteOffers.values(), batteries: s.onsiteBatteries })) {
      const list = onsite.get(x.slot);
      if (list) list.push(x);
      else onsite.set(x.slot, [x]);
    }
    const carbonPrice = site.carbonPriceGbpPerT / 1000;
    let best = first;
    let bestScore = Infinity;
    if (job.class !== 'serving') {
      for (let t = first; t + job.runtimeMin * 60_000 <= job.deadlineMs && t < first + HORIZON_SLOTS * SLOT_MS; t += SLOT_MS) {
        const c = costOf(job, t, sig, onsite);
        const score = c.costGbp + c.carbonKg * carbonPrice;
        if (score < bestScore - 1e-9) {
          bestScore = score;
          best = t;
        }
      }
    }
    const expected = costOf(job, best, sig, onsite);
    const runNow = costOf(job, first, sig);
    const slots: Array<{ start: string; kw: number }> = [];
    for (let t = best, left = job.runtimeMin; left > 0; t += SLOT_MS, left -= 30) slots.push({ start: iso(t), kw: round((job.powerKw * Math.min(30, left)) / 30, 1) });
    return {
      jobId: job.id,
      planId: `arrival-${job.id}`,
      forecastId: s.forecast?.forecastId ?? null,
      slots,
      plannedStart: iso(best),
      plannedEnd: iso(best + job.runtimeMin * 60_000),
      expected,
      runNow,
      pinned: false,
      reason: onsite.size
        ? 'on arrival: cheapest on-time start by the forecast and the energy on-site assets offer (provisional until the next half-hourly re-plan checks capacity)'
        : 'on arrival: cheapest on-time start by the forecast (provisional until the next half-hourly re-plan checks capacity)',
      flexOrderIds: [],
    };
  }

  /** Per slot: the import cap of the flexibility sold, and what a shortfall below it costs. */
  function capsFor(t0: number, s: ComputeState): FlexCaps {
    return flexCapsFor({ t0Ms: t0, slots: HORIZON_SLOTS, slotMs: SLOT_MS, siteImportCapKw: site.importCapKw, windows: s.caps.values() });
  }

  async function tick(t: number, s: ComputeState, ctx: AgentContext): Promise<Decision[]> {
    const out: Decision[] = [];
    const jobEvents = new Map<string, EventToAppend[]>();
    const addJobEvent = (jobId: string, e: EventToAppend) => {
      const list = jobEvents.get(jobId);
      if (list) list.push(e);
      else jobEvents.set(jobId, [e]);
    };
    // Progress of each job after the half-hour just ended (the meter event evolves it too).
    const doneAfter = new Map<string, number>();
    let soc = s.socKwh;

    // 1. Meter the half-hour that just ended, as dispatched.
    const disp = s.dispatch;
    const prev = t - SLOT_MS;
    if (disp && disp.slotStartMs === prev && s.lastMeterSlotMs !== prev) {
      const observed = s.actuals.get(prev);
      const fallback = signalsAt(prev, s);
      const price = observed?.price ?? fallback.priceGbpPerMwh[0]!;
      const carbon = observed?.carbon ?? fallback.intensityGPerKwh[0]!;
      let itKw = 0;
      const byClass = { training: 0, 'batch-inference': 0, serving: 0 };
      const runs: Array<{ jobId: string; kw: number }> = [];
      for (const run of disp.runs) {
        const r = s.jobs.get(run.jobId);
        if (!r || r.status === 'done') continue;
        const left = r.job.runtimeMin - r.doneMin;
        const kw = Math.min(run.kw, (r.job.powerKw * left) / 30);
        if (kw <= 1e-9) continue;
        itKw += kw;
        byClass[r.job.class] += kw * 0.5;
        runs.push({ jobId: run.jobId, kw: round(kw, 3) });
        const done = r.doneMin + 30 * (kw / r.job.powerKw);
        doneAfter.set(r.job.id, done);
        if (done >= r.job.runtimeMin - DONE_EPS_MIN) {
          // It runs at full power from the half-hour's start until done.
          const endMs = prev + Math.round(left * 60_000);
          const energyKwh = r.energyKwh + kw * 0.5;
          addJobEvent(r.job.id, {
            type: 'compute.job.completed',
            data: {
              jobId: r.job.id,
              at: iso(Math.min(endMs, t)),
              energyKwh: round(energyKwh),
              costGbp: round(r.costGbp + (kw * 0.5 * site.pue * price) / 1000),
              carbonKg: round(r.carbonKg + (kw * 0.5 * site.pue * carbon) / 1000),
              late: Math.min(endMs, t) > r.job.deadlineMs + 1,
            },
          });
        }
      }
      const bat = site.battery;
      const eta = Math.sqrt(bat.roundTripEfficiency);
      // The battery does what the plan said, within what it physically can now.
      const ch = Math.min(disp.chargeKw, bat.powerKw, Math.max(0, (bat.maxSocFraction * bat.energyKwh - soc) / (0.5 * eta)));
      const dis = Math.min(disp.dischargeKw, bat.powerKw, Math.max(0, ((soc - bat.minSocFraction * bat.energyKwh) * eta) / 0.5), itKw * site.pue + ch);
      soc = Math.max(0, soc + 0.5 * (eta * ch - dis / eta));
      const sp = settlementPeriodOf(prev);
      out.push({
        stream: 'meter-main',
        expected: s.meterRevision < 0 ? 'no-stream' : s.meterRevision,
        events: [
          {
            type: 'site.meter.read',
            data: {
              periodStart: iso(prev),
              settlementDate: sp.settlementDate,
              settlementPeriod: sp.settlementPeriod,
              itKwh: round(itKw * 0.5, 3),
              importKwh: round((itKw * site.pue + ch - dis) * 0.5, 3),
              batteryChargeKwh: round(ch * 0.5, 3),
              batteryDischargeKwh: round(dis * 0.5, 3),
              batterySocKwh: round(soc, 3),
              carbonGPerKwh: carbon,
              priceGbpPerMwh: price,
              byClassKwh: { training: round(byClass.training, 3), 'batch-inference': round(byClass['batch-inference'], 3), serving: round(byClass.serving, 3) },
              signals: observed?.price != null && observed?.carbon != null ? 'observed' : 'forecast',
              jobs: runs,
            },
          },
        ],
      });
    }

    // 1b. A tick cut short after its meter read (a crash before the rest was appended): the read
    // is on the ledger and already in the state, so the jobs it finished are completed from it.
    if (s.lastMeterSlotMs === prev) {
      for (const run of s.lastMeterJobs) {
        const r = s.jobs.get(run.jobId);
        if (!r || r.status === 'done' || r.doneMin < r.job.runtimeMin - DONE_EPS_MIN) continue;
        const left = r.job.runtimeMin - (r.doneMin - 30 * (run.kw / r.job.powerKw));
        const endMs = Math.min(prev + Math.round(left * 60_000), t);
        addJobEvent(r.job.id, { type: 'compute.job.completed', data: { jobId: r.job.id, at: iso(endMs), energyKwh: round(r.energyKwh), costGbp: round(r.costGbp), carbonKg: round(r.carbonKg), late: endMs > r.job.deadlineMs + 1 } });
      }
    }

    // 2. Deadlines that have passed with work left.
    for (const id of s.active) {
      const r = s.jobs.get(id)!;
      const done = doneAfter.get(id) ?? r.doneMin;
      if (!r.missed && r.job.deadlineMs <= t && done < r.job.runtimeMin - DONE_EPS_MIN) {
        addJobEvent(id, { type: 'compute.job.deadline-missed', data: { jobId: id, deadline: iso(r.job.deadlineMs), remainingMin: round(r.job.runtimeMin - done), feasibleOnArrival: r.feasibleOnArrival } });
      }
    }

    // 3. Re-plan from now and dispatch the next half-hour.
    const planned = await planFrom(t, s, soc, doneAfter, ctx, 'half-hourly re-plan');
    const running = new Set(s.dispatch?.slotStartMs === prev ? s.dispatch.runs.map((r) => r.jobId) : []);
    const nowRunning = new Set(planned.dispatch.runs.map((r) => r.jobId));
    for (const run of planned.dispatch.runs) {
      const r = s.jobs.get(run.jobId);
      // (Not again when a tick cut short already started it at this half-hour.)
      if (r && (r.status !== 'running' || !running.has(run.jobId)) && !(r.status === 'running' && r.runningSinceMs === t)) addJobEvent(run.jobId, { type: 'compute.job.started', data: { jobId: run.jobId, at: iso(t), kw: run.kw } });
    }
    for (const id of running) {
      const r = s.jobs.get(id);
      const done = doneAfter.get(id) ?? r?.doneMin ?? 0;
      if (r && r.status === 'running' && !nowRunning.has(id) && done < r.job.runtimeMin - DONE_EPS_MIN) {
        addJobEvent(id, { type: 'compute.job.preempted', data: { jobId: id, at: iso(t), remainingMin: round(r.job.runtimeMin - done) } });
      }
    }
    for (const [jobId, e] of planned.jobPlanned) addJobEvent(jobId, e);
    // Job events in a stable order (by job id), so the ledger does not depend on map order.
    for (const jobId of [...jobEvents.keys()].sort()) {
      const r = s.jobs.get(jobId);
      const events = jobEvents.get(jobId)!;
      // A job's own events in lifecycle order: completed/missed first, then planned, started, preempted.
      const order = ['compute.job.completed', 'compute.job.deadline-missed', 'compute.job.planned', 'compute.job.preempted', 'compute.job.started'];
      events.sort((a, b) => order.indexOf(a.type) - order.indexOf(b.type));
      out.push({ stream: `job-${jobId}`, ...(r ? { expected: r.revision } : {}), events });
    }
    out.push(planned.planDecision);
    return out;
  }

  async function replan(t: number, s: ComputeState, ctx: AgentContext, trigger: string, dispatch: boolean): Promise<Decision[]> {
    const planned = await planFrom(t, s, s.socKwh, new Map(), ctx, trigger, dispatch);
    const out: Decision[] = [];
    for (const [jobId, e] of [...planned.jobPlanned].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const r = s.jobs.get(jobId);
      out.push({ stream: `job-${jobId}`, ...(r ? { expected: r.revision } : {}), events: [e] });
    }
    out.push(planned.planDecision);
    return out;
  }

  async function planFrom(
    t: number,
    s: ComputeState,
    soc: number,
    doneAfter: ReadonlyMap<string, number>,
    ctx: AgentContext,
    trigger: string,
    newDispatch = true,
  ): Promise<{ dispatch: { runs: Array<{ jobId: string; kw: number }>; chargeKw: number; dischargeKw: number }; jobPlanned: Map<string, EventToAppend>; planDecision: Decision }> {
    const forecastSignals = signalsAt(t, s);
    const jobs: PlanJob[] = [];
    const records = new Map<string, JobRecord>();
    for (const id of s.active) {
      const r = s.jobs.get(id)!;
      const done = doneAfter.get(id) ?? r.doneMin;
      if (done >= r.job.runtimeMin - DONE_EPS_MIN) continue;
      records.set(id, r);
      let job: PlanJob = { ...r.job, doneMin: done };
      if (r.status === 'running' && !r.job.preemptible && r.startedMs !== null) job = { ...job, startedMs: r.startedMs };
      else if (r.pinnedStartMs !== null && r.pinnedStartMs >= t) {
        // A pin: the job may start only then, and must run straight through.
        job = { ...job, earliestStartMs: r.pinnedStartMs, deadlineMs: Math.max(r.job.deadlineMs, r.pinnedStartMs + (r.job.runtimeMin - done) * 60_000), preemptible: false };
      }
      jobs.push(job);
    }
    const signals = coverWindows(t, s.actuals, forecastSignals, jobs, { minSlots: HORIZON_SLOTS, maxSlots: LONG_HORIZON_SLOTS });
    const { caps, breach, orders } = capsFor(t, s);
    // The connection limit is hard; a reduction sold is a soft cap priced at what a shortfall
    // costs, so the plan never makes a job late to deliver flexibility worth less than that.
    const onsite = onsiteTiers({ t0Ms: t, slots: HORIZON_SLOTS, slotMs: SLOT_MS, offers: s.onsiteOffers.values(), batteries: s.onsiteBatteries });
    const input: PlanInput = {
      nowMs: t,
      site,
      jobs,
      signals,
      batterySocKwh: soc,
      flexCapKw: caps,
      flexBreachGbpPerMwh: breach,
      ...(onsite.length ? { onsite } : {}),
      ...(lastPlan ? { previous: lastPlan } : {}),
    };
    let result = await runPlanner(input, deps.planOptions ?? {});
    let problems = validatePlan(result, jobs, site, signals, { batterySocKwh: soc });
    let note = '';
    if (problems.length) {
      ctx.log.warn({ problems: problems.slice(0, 3).map((p) => p.message), status: result.status }, 'plan failed validation; using the greedy plan');
      note = `solver plan failed validation (${problems[0]!.message}); greedy plan used`;
      result = await runPlanner({ ...input, previous: undefined as unknown as PlanResult }, { ...(deps.planOptions ?? {}), mode: 'greedy' });
      problems = validatePlan(result, jobs, site, signals, { batterySocKwh: soc });
      if (problems.length) note += `; greedy plan has ${problems.length} problem(s) too: ${problems[0]!.message}`;
    }
    lastPlan = result;
    deps.onPlan?.(result);
    ctx.log.debug({ status: result.status, mode: result.solver.mode, solveMs: Math.round(result.solver.totalMs), gap: result.solver.gap, jobs: jobs.length }, 'planned');
    const planId = `plan-${iso(t)}-${s.planCount + 1}`;
    const slot0 = result.slots[0];
    const dispatch = newDispatch
      ? {
          runs: result.jobs.filter((j) => j.runs[0]?.slot === 0 && j.runs[0].kw > 1e-6).map((j) => ({ jobId: j.jobId, kw: round(j.runs[0]!.kw, 3) })).sort((a, b) => (a.jobId < b.jobId ? -1 : 1)),
          chargeKw: round(slot0?.chargeKw ?? 0, 3),
          dischargeKw: round(slot0?.dischargeKw ?? 0, 3),
        }
      : { runs: [...(s.dispatch?.runs ?? [])], chargeKw: s.dispatch?.chargeKw ?? 0, dischargeKw: s.dispatch?.dischargeKw ?? 0 };
    const dispatchSlot = newDispatch ? t : (s.dispatch?.slotStartMs ?? t);

    const jobPlanned = new Map<string, EventToAppend>();
    for (const jp of result.jobs) {
      const r = records.get(jp.jobId);
      if (!r || jp.kind === 'unplaced' || jp.startMs === null) continue;
      const start = jp.startMs;
      const end = jp.endMs ?? start + (r.job.runtimeMin - (doneAfter.get(jp.jobId) ?? r.doneMin)) * 60_000;
      const sameEnd = r.plannedEndMs !== null && Math.abs(r.plannedEndMs - end) < SLOT_MS;
      // A job that runs on from now has not moved just because "now" has: only its end matters.
      const continuing = r.status === 'running' && start <= t;
      if (sameEnd && (continuing || (r.plannedStartMs !== null && Math.abs(r.plannedStartMs - start) < SLOT_MS))) continue;
      const inOrders = orders.filter((o) => jp.runs.some((x) => o.slots.has(x.slot)) || (r.plannedStartMs !== null && o.slots.has(Math.round((r.plannedStartMs - t) / SLOT_MS)))).map((o) => o.id);
      const runNow = jp.counterfactual;
      jobPlanned.set(jp.jobId, {
        type: 'compute.job.planned',
        data: {
          jobId: jp.jobId,
          planId,
          forecastId: s.forecast?.forecastId ?? null,
          slots: jp.runs.map((x) => ({ start: iso(t + x.slot * SLOT_MS), kw: round(x.kw, 1) })),
          plannedStart: iso(start),
          plannedEnd: iso(end),
          expected: { costGbp: round(jp.expectedCostGbp), carbonKg: round(jp.expectedCarbonKg) },
          runNow: { costGbp: round(runNow.costGbp), carbonKg: round(runNow.carbonKg) },
          pinned: r.pinnedStartMs !== null,
          reason: r.pinnedStartMs !== null ? 'pinned by an operator' : inOrders.length ? `${trigger}; import capped by flexibility sold` : trigger,
          flexOrderIds: inOrders,
        },
      });
    }

    // The same half-hour on the latest earlier day with a meter reading (up to a week back).
    const historicalKw = result.slots.map((x) => {
      for (let back = 1; back <= 7; back++) {
        const v = s.importKwBySlot.get(x.startMs - back * DAY_MS);
        if (v !== undefined) return v;
      }
      return NaN;
    });
    // What jobs still to arrive add: the tight arrivals (released after now, unable to avoid the
    // slot; serving load above all, submitted as it starts) at the same times over the past week.
    // The baseline is the plan plus the median day's (the load expected without any action);
    // the offer must absorb up to the worst day's. Only the slots an offer can be made for.
    const recent = [...s.jobs.values()].map((r) => r.job).filter((j) => j.earliestStartMs > t - 8 * DAY_MS && j.deadlineMs - j.earliestStartMs < 2 * DAY_MS);
    const arrivals = result.slots.map((x, i) => {
      if (i >= OFFER_SLOTS) return null;
      const byDay = tightArrivalsByDay(recent, t, x.startMs, x.startMs + SLOT_MS).sort((a, b) => a - b);
      return { median: byDay[Math.floor((byDay.length - 1) / 2)]!, max: byDay.at(-1)! };
    });
    const expectedKw = result.slots.map((x, i) => (arrivals[i] ? x.siteKw + site.pue * arrivals[i].median : historicalKw[i]!));
    const highKw = result.slots.map((x, i) => (arrivals[i] ? x.siteKw + site.pue * arrivals[i].max : NaN));
    const bat = site.battery;
    const windows = flexWindows(result.flexibility, result.slots, deps.flexWindows ?? DEFAULT_FLEX_WINDOWS, expectedKw, highKw, {
      minSocKwh: bat.minSocFraction * bat.energyKwh,
      eta: Math.sqrt(bat.roundTripEfficiency),
      socStartKwh: soc,
    });
    const planEvents: EventToAppend[] = [
      {
        type: 'compute.plan.published',
        data: {
          planId,
          forecastId: s.forecast?.forecastId ?? null,
          startsAt: iso(t),
          trigger,
          solver: { status: result.status, mode: result.solver.mode, note: [result.solver.message ?? '', note].filter(Boolean).join('; ') },
          jobs: jobs.length,
          itKw: result.slots.map((x) => round(x.itKw, 1)),
          siteKw: result.slots.map((x) => round(x.siteKw, 1)),
          batteryChargeKw: result.slots.map((x) => round(x.chargeKw, 1)),
          batteryDischargeKw: result.slots.map((x) => round(x.dischargeKw, 1)),
          batterySocKwh: result.slots.map((x) => round(Math.max(0, x.socKwh), 1)),
          importCapKw: caps.slice(0, result.slots.length).map((x) => round(x, 1)),
          expected: { costGbp: round(result.totals.energyCostGbp), carbonKg: round(result.totals.carbonKg) },
          dispatch: { slotStart: iso(dispatchSlot), ...dispatch },
        },
      },
      {
        type: 'compute.flexibility.available',
        data: {
          planId,
          windows: windows.map((w) => ({ windowStart: iso(w.windowStartMs), windowEnd: iso(w.windowEndMs), kw: w.kw, marginalCostGbpPerMwh: w.marginalCostGbpPerMwh, baselineKw: w.baselineKw })),
        },
      },
    ];
    return { dispatch, jobPlanned, planDecision: { stream: 'plan-main', expected: s.planRevision < 0 ? 'no-stream' : s.planRevision, events: planEvents } };
  }
}
