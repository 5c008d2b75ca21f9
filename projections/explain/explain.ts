import { isOneOf, type Envelope } from '../../core/envelope/index.ts';
import { ForecastPublished, JobCompleted, JobDeadlineMissed, JobPinnedV2, JobPlanned, JobPreempted, JobRejected, JobReleasedV2, JobStarted, JobSubmittedV2, OrderConfirmed, type DataOf } from '../../schemas/index.ts';

/** The events of a job's own stream that its story tells. */
const isJobEvent = isOneOf([JobSubmittedV2, JobPlanned, JobStarted, JobPreempted, JobPinnedV2, JobReleasedV2, JobDeadlineMissed, JobCompleted]);
const isRejection = isOneOf([JobRejected]);
const isPlanned = isOneOf([JobPlanned]);
const isCompleted = isOneOf([JobCompleted]);
const isStarted = isOneOf([JobStarted]);
/** The events a job's plans cite. */
const isCited = isOneOf([ForecastPublished, OrderConfirmed]);

/** One step in a job's story, with the ledger event that proves it. */
export interface ExplainStep {
  readonly at: string;
  readonly eventId: string;
  readonly type: string;
  readonly stream: string;
  readonly revision: number;
  readonly text: string;
}

export interface Explanation {
  readonly jobId: string;
  readonly found: boolean;
  readonly summary: string;
  readonly steps: ReadonlyArray<ExplainStep>;
  /** Records of the job's stream refused on read (failed verification): left out of what is explained (the first 100). */
  readonly quarantined?: ReadonlyArray<{ readonly position: number; readonly reason: string }>;
}

/** How the site's HTTP servers answer an explanation: 409 when records of the job failed verification (`quarantined`; the summary says so), 404 when there is no job, else 200. */
export function explanationStatus(x: Explanation): 200 | 404 | 409 {
  return x.quarantined ? 409 : x.found ? 200 : 404;
}

const hhmm = (iso: string) => iso.replace('T', ' ').slice(0, 16) + 'Z';
const gbp = (x: number) => `£${x.toFixed(2)}`;
const kg = (x: number) => `${x.toFixed(1)} kgCO2`;
/** A delay as "37 min", "5 h 10 min" or "1 d 2 h". */
function duration(ms: number): string {
  const min = Math.round(ms / 60_000);
  if (min < 60) return `${min} min`;
  if (min < 24 * 60) return `${Math.floor(min / 60)} h${min % 60 ? ` ${min % 60} min` : ''}`;
  const h = Math.round(min / 60);
  return `${Math.floor(h / 24)} d${h % 24 ? ` ${h % 24} h` : ''}`;
}

/** The stream of a job's own events. */
export const jobStream = (jobId: string): string => `job-${jobId}`;
/** The stream a rejected submission is recorded on (a rejected job has no stream of its own). */
export const INTAKE_STREAM = 'intake-main';
/** The categories of the events a job's plans cite: forecasts (`grid`) and flexibility orders (`flex`). */
export const CITED_CATEGORIES: ReadonlyArray<string> = ['grid', 'flex'];

/** The explanation for an id with no events on the ledger. */
export const notFound = (jobId: string): Explanation => ({ jobId, found: false, summary: `no job "${jobId}" on the ledger`, steps: [] });

/** The explanation of a job rejected at submission, if `e` (from the intake stream) is its rejection. */
export function rejectionOf(jobId: string, e: Envelope): Explanation | undefined {
  if (!isRejection(e) || e.data.jobId !== jobId) return undefined;
  const d = e.data;
  return {
    jobId,
    found: true,
    summary: `job ${jobId} was rejected: ${d.problems.map((p) => `${p.field}: ${p.reason}`).join('; ')}`,
    steps: [{ at: e.time, eventId: e.id, type: e.type, stream: e.stream, revision: e.revision, text: 'rejected at submission' }],
  };
}

/** The forecasts and flexibility orders a job's plans cite, by id. */
export interface CitedIds {
  readonly forecastIds: ReadonlySet<string>;
  readonly orderIds: ReadonlySet<string>;
}

/**
 * Which other events a job's story cites, from its own events: the forecasts its plans were made
 * on and the flexibility orders that capped the site meanwhile. `undefined` when it cites none.
 */
export function citedIds(own: ReadonlyArray<Envelope>): CitedIds | undefined {
  const forecastIds = new Set<string>();
  const orderIds = new Set<string>();
  for (const e of own) {
    if (!isPlanned(e)) continue;
    if (e.data.forecastId) forecastIds.add(e.data.forecastId);
    for (const o of e.data.flexOrderIds) orderIds.add(o);
  }
  return forecastIds.size || orderIds.size ? { forecastIds, orderIds } : undefined;
}

/** Whether an event is one of those `ids` names. */
export function citedBy(ids: CitedIds): (e: Envelope) => boolean {
  return (e) => {
    if (!isCited(e)) return false;
    switch (e.type) {
      case 'grid.forecast.published':
        return ids.forecastIds.has(e.data.forecastId);
      case 'flex.order.confirmed':
        return ids.orderIds.has(e.data.orderId);
    }
  };
}

/**
 * Why a job ran when it did, from the ledger alone: its submission, every plan that moved it
 * (with the forecast it was planned on and the cost and carbon of running at arrival instead),
 * the flexibility orders that capped the site meanwhile, and what it finally used. `own` is the
 * job's stream in order (empty: not found); `cited` the events `citedBy(citedIds(own))` picks, in ledger order.
 * Pure: reading them from a store is the caller's part.
 */
export function explainFromEvents(jobId: string, own: ReadonlyArray<Envelope>, cited: Iterable<Envelope>): Explanation {
  if (own.length === 0) return notFound(jobId);
  const forecasts = new Map<string, Envelope>();
  const orders = new Map<string, { readonly id: string; readonly data: DataOf<typeof OrderConfirmed> }>();
  for (const e of cited) {
    if (!isCited(e)) continue;
    switch (e.type) {
      case 'grid.forecast.published':
        forecasts.set(e.data.forecastId, e);
        break;
      case 'flex.order.confirmed':
        orders.set(e.data.orderId, e);
        break;
    }
  }
  const steps: ExplainStep[] = [];
  const step = (e: Envelope, text: string) => steps.push({ at: e.time, eventId: e.id, type: e.type, stream: e.stream, revision: e.revision, text });
  let firstPlanned: DataOf<typeof JobPlanned> | undefined;
  let last: DataOf<typeof JobPlanned> | undefined;
  // When it could first have run: its submission, or its window's start if later.
  let arrivalMs: number | undefined;
  for (const e of own) {
    if (!isJobEvent(e)) {
      step(e, e.type);
      continue;
    }
    switch (e.type) {
      case 'compute.job.submitted': {
        const d = e.data;
        arrivalMs = Math.max(Date.parse(e.time), Date.parse(d.earliestStart));
        step(e, `submitted: ${d.class} job, ${d.powerKw} kW for ${d.runtimeMin} min (${d.runtimeSource}${d.runtimeModel ? ` by ${d.runtimeModel}` : ''}), window ${hhmm(d.earliestStart)} to ${hhmm(d.deadline)}, ${d.slaClass}${d.preemptible ? ', preemptible' : ''}`);
        break;
      }
      case 'compute.job.planned': {
        const p = e.data;
        const isFirst = firstPlanned === undefined;
        firstPlanned ??= p;
        last = p;
        const f = p.forecastId ? forecasts.get(p.forecastId) : undefined;
        const fc = f ? ` on forecast ${p.forecastId} (event ${f.id})` : p.forecastId ? ` on forecast ${p.forecastId}` : ' without a grid forecast (fallback signals)';
        const saving = p.runNow.costGbp - p.expected.costGbp;
        const co2 = p.runNow.carbonKg - p.expected.carbonKg;
        const orderText = p.flexOrderIds.length
          ? `; flexibility sold meanwhile: ${p.flexOrderIds.map((o) => { const oe = orders.get(o); return oe ? `order ${o} (${oe.data.kw} kW off ${hhmm(oe.data.windowStart)}–${hhmm(oe.data.windowEnd)}, event ${oe.id})` : `order ${o}`; }).join(', ')}`
          : '';
        step(e, `planned ${hhmm(p.plannedStart)}–${hhmm(p.plannedEnd)}${fc}: expected ${gbp(p.expected.costGbp)}, ${kg(p.expected.carbonKg)}; ${isFirst ? 'running at arrival' : 'running the rest straight away'} instead: ${gbp(p.runNow.costGbp)}, ${kg(p.runNow.carbonKg)} (${saving >= 0 ? 'saves' : 'costs'} ${gbp(Math.abs(saving))}, ${co2 >= 0 ? 'saves' : 'adds'} ${kg(Math.abs(co2))}). Why: ${p.reason}${orderText}`);
        break;
      }
      case 'compute.job.started':
        step(e, `started at ${hhmm(e.data.at)} drawing ${e.data.kw} kW`);
        break;
      case 'compute.job.preempted':
        step(e, `paused (checkpointed) at ${hhmm(e.data.at)} with ${e.data.remainingMin} min left`);
        break;
      case 'compute.job.pinned':
        step(e, `pinned by ${e.data.operator} to start ${hhmm(e.data.startAt)}${e.data.reason ? `: ${e.data.reason}` : ''}`);
        break;
      case 'compute.job.released':
        step(e, `released by ${e.data.operator}${e.data.reason ? `: ${e.data.reason}` : ''}`);
        break;
      case 'compute.job.deadline-missed':
        step(e, `missed its deadline ${hhmm(e.data.deadline)} with ${e.data.remainingMin} min left${e.data.feasibleOnArrival ? ' (it was feasible on arrival)' : ' (it was not feasible on arrival)'}`);
        break;
      case 'compute.job.completed':
        step(e, `completed at ${hhmm(e.data.at)}: ${e.data.energyKwh.toFixed(0)} kWh IT, ${gbp(e.data.costGbp)}, ${kg(e.data.carbonKg)} on the observed signals${e.data.late ? ', late' : ''}`);
        break;
      default: {
        const unhandled: never = e;
        return unhandled;
      }
    }
  }
  const done = own.find(isCompleted)?.data;
  const runNow = firstPlanned?.runNow;
  const cost = done && runNow ? `; it cost ${gbp(done.costGbp)} and ${kg(done.carbonKg)} against ${gbp(runNow.costGbp)} and ${kg(runNow.carbonKg)} forecast for running at arrival` : '';
  return { jobId, found: true, summary: last ? ranSummary(jobId, own, last, done, arrivalMs) + cost : `job ${jobId} was submitted but never planned`, steps };
}

/**
 * When the job ran, from its start and completion events (the plans only say what was meant):
 * its first start against its arrival, how many pieces it ran in, and when it finished. A job
 * preempted and resumed started long before its last plan's start, which is all a plan shows.
 */
function ranSummary(jobId: string, own: ReadonlyArray<Envelope>, last: DataOf<typeof JobPlanned>, done: DataOf<typeof JobCompleted> | undefined, arrivalMs: number | undefined): string {
  const starts = own.filter(isStarted);
  if (starts.length === 0) return `job ${jobId} has not started; planned for ${hhmm(last.plannedStart)}–${hhmm(last.plannedEnd)}`;
  const firstMs = Date.parse(starts[0]!.data.at);
  // The site starts work on half-hours: a start within half an hour of arrival is at arrival.
  const when = arrivalMs === undefined ? `at ${hhmm(starts[0]!.data.at)}` : firstMs - arrivalMs < 1_800_000 ? `at arrival, ${hhmm(starts[0]!.data.at)}` : `${duration(firstMs - arrivalMs)} after arrival, at ${hhmm(starts[0]!.data.at)}`;
  const pieces = starts.length === 1 ? 'in one piece' : `in ${starts.length} pieces`;
  return `job ${jobId} started ${when}, and ran ${pieces} ${done ? `until ${hhmm(done.at)}` : '(not finished)'}`;
}
