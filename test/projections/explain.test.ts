import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope } from '../../core/envelope/index.ts';
import { explainFromEvents, explainJob, notFound, rejectionOf, RejectionIndex } from '../../projections/explain/index.ts';
import type { VerifiedEventStore } from '../../core/store/index.ts';
import { registered } from './settlement/helpers.ts';

const JOB = 'trn-1';
const STREAM = `job-${JOB}`;
const T0 = Date.parse('2023-07-07T04:23:00Z');
const MIN = 60_000;
const iso = (ms: number) => new Date(ms).toISOString();

/** The job's own stream, each event checked against its registered schema. */
function story(events: ReadonlyArray<{ type: string; version?: number; atMs: number; data: Record<string, unknown> }>): Envelope[] {
  return events.map((e, revision) => {
    const version = e.version ?? 1;
    registered(e.type, e.data, version);
    return { id: `ev-${revision}`, type: e.type, version, stream: STREAM, revision, position: revision + 1, time: iso(e.atMs), source: 'compute', correlationId: JOB, causationId: null, data: e.data, prevHash: '0'.repeat(64), hash: '0'.repeat(64), sig: '' } as unknown as Envelope;
  });
}

const submitted = { type: 'compute.job.submitted', version: 2, atMs: T0, data: { jobId: JOB, class: 'training', powerKw: 198.8, gpuCount: null, runtimeMin: 600, runtimeSource: 'given', runtimeModel: null, earliestStart: iso(T0), deadline: iso(T0 + 36 * 60 * MIN), slaClass: 'silver', preemptible: true, submittedBy: null } };
const planned = (atMs: number, startMs: number, endMs: number) => ({ type: 'compute.job.planned', atMs, data: { jobId: JOB, planId: `plan-${atMs}`, forecastId: null, slots: [{ start: iso(startMs), kw: 198.8 }], plannedStart: iso(startMs), plannedEnd: iso(endMs), expected: { costGbp: 50, carbonKg: 70 }, runNow: { costGbp: 60, carbonKg: 80 }, pinned: false, reason: 'half-hourly re-plan', flexOrderIds: [] } });
const started = (ms: number) => ({ type: 'compute.job.started', atMs: ms, data: { jobId: JOB, at: iso(ms), kw: 198.8 } });
const preempted = (ms: number) => ({ type: 'compute.job.preempted', atMs: ms, data: { jobId: JOB, at: iso(ms), remainingMin: 300 } });
const completed = (ms: number) => ({ type: 'compute.job.completed', atMs: ms, data: { jobId: JOB, at: iso(ms), energyKwh: 1988, costGbp: 55.5, carbonKg: 66.6, late: false } });

describe('explain: the summary says when the job ran, from its start and completion events', () => {
  test('preempted and resumed: its first start, not its last plan’s, and how many pieces', () => {
    const start = T0 + 37 * MIN;
    const x = explainFromEvents(JOB, story([submitted, planned(T0, T0 + 7 * 60 * MIN, T0 + 20 * 60 * MIN), started(start), preempted(start + 120 * MIN), planned(start + 120 * MIN, start + 5 * 60 * MIN, start + 13 * 60 * MIN), started(start + 5 * 60 * MIN), completed(start + 13 * 60 * MIN)]), []);
    assert.equal(x.summary, `job ${JOB} started 37 min after arrival, at 2023-07-07 05:00Z, and ran in 2 pieces until 2023-07-07 18:00Z; it cost £55.50 and 66.6 kgCO2 against £60.00 and 80.0 kgCO2 forecast for running at arrival`);
  });

  test('a start within half an hour of arrival is at arrival; a job not yet started says so with its plan', () => {
    const atArrival = explainFromEvents(JOB, story([submitted, planned(T0, T0 + 7 * MIN, T0 + 607 * MIN), started(T0 + 7 * MIN), completed(T0 + 607 * MIN)]), []);
    assert.match(atArrival.summary, /^job trn-1 started at arrival, 2023-07-07 04:30Z, and ran in one piece until 2023-07-07 14:30Z; it cost/);
    const waiting = explainFromEvents(JOB, story([submitted, planned(T0, T0 + 30 * 60 * MIN + 7 * MIN, T0 + 40 * 60 * MIN + 7 * MIN)]), []);
    assert.equal(waiting.summary, `job ${JOB} has not started; planned for 2023-07-08 10:30Z–2023-07-08 20:30Z`);
    const late = explainFromEvents(JOB, story([submitted, planned(T0, T0 + 26 * 60 * MIN + 7 * MIN, T0 + 36 * 60 * MIN), started(T0 + 26 * 60 * MIN + 7 * MIN)]), []);
    assert.equal(late.summary, `job ${JOB} started 1 d 2 h after arrival, at 2023-07-08 06:30Z, and ran in one piece (not finished)`);
  });
});

/** What `f` gives, and the longest the event loop waited for a turn while it ran. */
async function longestStall<T>(f: () => Promise<T>): Promise<{ value: T; longestMs: number }> {
  let longestMs = 0;
  let last = performance.now();
  let done = false;
  const tick = () => {
    const now = performance.now();
    longestMs = Math.max(longestMs, now - last);
    last = now;
    if (!done) setImmediate(tick);
  };
  setImmediate(tick);
  try {
    return { value: await f(), longestMs };
  } finally {
    done = true;
  }
}

/** Busy for `ms`: a store whose reads cost CPU and never wait, as SQLite's verified reads. */
function spin(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/**
 * A ledger of `n` forecasts on `grid` (f-0 … f-{n-1}), each followed by an event of another job,
 * and the job's own stream, whose plans cite `cites`. Its reads resolve on microtasks only and
 * cost `msPerEvent` of CPU for every event they hand out; `handed` counts those.
 */
function citingStore(n: number, cites: ReadonlyArray<string>, msPerEvent = 0) {
  const log: Envelope[] = [];
  const add = (stream: string, type: string, data: Record<string, unknown>) =>
    log.push({ id: `e-${log.length + 1}`, type, version: 1, stream, revision: log.length, position: log.length + 1, time: iso(T0), source: 'grid', correlationId: 'x', causationId: null, data, prevHash: '0'.repeat(64), hash: '0'.repeat(64), sig: '' } as unknown as Envelope);
  for (let i = 0; i < n; i++) {
    add('grid', 'grid.forecast.published', { forecastId: `f-${i}` });
    add('job-other', 'compute.job.started', { jobId: 'other' });
  }
  const plan = (k: number, forecastId: string) => {
    const p = planned(T0 + k * MIN, T0 + 7 * MIN, T0 + 607 * MIN);
    return { ...p, data: { ...p.data, forecastId } };
  };
  const own = story([submitted, ...cites.map((f, k) => plan(k, f))]);
  const counts = { handed: 0 };
  const store = {
    async *readStream(stream: string) {
      if (stream === STREAM) yield* own;
    },
    async *readAll(o: { from?: number; categories?: ReadonlyArray<string> } = {}) {
      for (const e of log) {
        if (e.position <= (o.from ?? 0)) continue;
        if (o.categories && !o.categories.includes(e.stream.split('-')[0]!)) continue;
        counts.handed++;
        if (msPerEvent) spin(msPerEvent);
        yield e;
      }
    },
  } as unknown as VerifiedEventStore;
  return { store, counts, log, add };
}

describe('explainJob reads the forecasts and orders a job cites from the span of its plans', { timeout: 60_000 }, () => {
  test('after one read of them all, a request reads from the first cited to the last; the same explanation as a read of the whole ledger', async () => {
    const x = citingStore(3000, ['f-1000', 'f-1010', 'f-1005']);
    const first = await explainJob(x.store, JOB);
    assert.ok(x.counts.handed >= 3000, 'the first request reads every forecast once');
    assert.deepEqual(first, await explainJob(x.store, JOB, { scan: true }));
    assert.match(first.steps[1]!.text, /on forecast f-1000 \(event e-2001\)/);
    assert.match(first.steps[2]!.text, /on forecast f-1010 \(event e-2021\)/);
    x.counts.handed = 0;
    assert.deepEqual(await explainJob(x.store, JOB), first);
    assert.equal(x.counts.handed, 12, 'f-1000 … f-1010 and the next, where the read stops; not the 3,000 forecasts (before: 3,000 a request)');
    // A forecast appended later is found by the next request, which reads only what is new and the span.
    x.add('grid', 'grid.forecast.published', { forecastId: 'f-new' });
    x.counts.handed = 0;
    const again = await explainJob(x.store, JOB);
    assert.deepEqual(again, first, 'a forecast no plan cites changes nothing');
    assert.equal(x.counts.handed, 1 + 12);
  });

  test('40 requests at once, on reads that never wait: the event loop is never held for long (it was held for all 40 scans)', async () => {
    const x = citingStore(1000, ['f-100', 'f-900'], 0.05);
    const { value: answers, longestMs } = await longestStall(() => Promise.all(Array.from({ length: 40 }, () => explainJob(x.store, JOB))));
    assert.ok(answers.every((a) => a.found && /on forecast f-900 \(event e-1801\)/.test(a.steps[2]!.text)));
    // Each read of 1,000 forecasts costs ~50 ms here; 40 at once held the loop ~2 s before.
    assert.ok(longestMs < 250, `the event loop waited ${longestMs.toFixed(0)} ms at most`);
  });
});

/** A rejection on the intake stream, at `revision`. */
function rejectionAt(jobId: string, revision: number): Envelope {
  const data = { jobId, problems: [{ field: 'runtimeMin', reason: 'above the 30 days a job may run here' }] };
  registered('compute.job.rejected', data, 1);
  return { id: `r-${revision}`, type: 'compute.job.rejected', version: 1, stream: 'intake-main', revision, position: 10_000 + revision, time: iso(T0 + revision * 1000), source: 'compute', correlationId: jobId, causationId: null, data, prevHash: '0'.repeat(64), hash: '0'.repeat(64), sig: '' } as unknown as Envelope;
}

/**
 * A store with `n` rejections (of bad-0 … bad-{n-1}) on its intake stream and no job streams,
 * counting the intake events its reads hand out. Its reads resolve on microtasks only, as SQLite's.
 */
function intakeStore(n: number) {
  const intake: Envelope[] = [];
  const add = (jobId: string) => intake.push(rejectionAt(jobId, intake.length));
  for (let i = 0; i < n; i++) add(`bad-${i}`);
  const counts = { read: 0 };
  const store = {
    async *readStream(stream: string, fromRevision = 0) {
      if (stream !== 'intake-main') return;
      for (const e of intake) {
        if (e.revision < fromRevision) continue;
        counts.read++;
        yield e;
      }
    },
    async *readAll() {},
  } as unknown as VerifiedEventStore;
  return { store, intake, add, counts };
}

describe('explainJob looks a rejected job up without reading every rejection per request', { timeout: 30_000 }, () => {
  test('an unknown id: the intake stream is read once, then only what was added since (before: all of it on every request)', async () => {
    const x = intakeStore(3000);
    for (let k = 0; k < 6; k++) assert.deepEqual(await explainJob(x.store, `nope-${k}`), notFound(`nope-${k}`));
    assert.equal(x.counts.read, 3000, 'six requests read the 3,000 rejections once');
    x.add('bad-late');
    assert.equal((await explainJob(x.store, 'nope-6')).found, false);
    assert.equal(x.counts.read, 3001);
  });

  test('a rejected id is explained as before, by its first rejection; one recorded later is found by the next request', async () => {
    const x = intakeStore(3000);
    assert.deepEqual(await explainJob(x.store, 'bad-17'), rejectionOf('bad-17', x.intake[17]!));
    x.add('bad-17');
    x.add('late');
    assert.deepEqual(await explainJob(x.store, 'late'), rejectionOf('late', x.intake[3001]!));
    assert.deepEqual(await explainJob(x.store, 'bad-17'), rejectionOf('bad-17', x.intake[17]!), 'still its first rejection');
    assert.equal(x.counts.read, 3002);
  });

  test('requests at once share one read', async () => {
    const x = intakeStore(3000);
    const answers = await Promise.all(Array.from({ length: 20 }, (_, k) => explainJob(x.store, k % 2 ? `bad-${k}` : `nope-${k}`)));
    assert.deepEqual(answers.map((a) => a.found), Array.from({ length: 20 }, (_, k) => k % 2 === 1));
    assert.equal(x.counts.read, 3000);
  });

  test('bounded: past maxChars the oldest rejections are no longer held; such an id is answered not found, saying so', async () => {
    const x = intakeStore(3000);
    const index = new RejectionIndex({ maxChars: 20_000 });
    const old = await explainJob(x.store, 'bad-0', { rejections: index });
    assert.equal(old.found, false);
    assert.match(old.summary, /^no job "bad-0" on the ledger, or not among its latest \d+ rejections: the \d+ before them \(intake-main revisions 0 to \d+\) are no longer held here$/);
    assert.ok(index.chars <= 20_000, `${index.chars} characters held`);
    assert.ok(index.size > 0 && index.size + index.dropped === 3000, `${index.size} held, ${index.dropped} dropped`);
    assert.deepEqual(await explainJob(x.store, 'bad-2999', { rejections: index }), rejectionOf('bad-2999', x.intake[2999]!));
    // Nothing dropped: the answer is the plain one.
    assert.deepEqual(await explainJob(intakeStore(10).store, 'nope', { rejections: new RejectionIndex({ maxChars: 20_000 }) }), notFound('nope'));
  });

  test('scan (caco explain): exact past any cap, holding nothing; it reads to the rejection each time', async () => {
    const x = intakeStore(3000);
    assert.deepEqual(await explainJob(x.store, 'bad-0', { scan: true }), rejectionOf('bad-0', x.intake[0]!));
    assert.equal(x.counts.read, 1, 'stops at the rejection');
    assert.deepEqual(await explainJob(x.store, 'nope', { scan: true }), notFound('nope'));
    assert.equal(x.counts.read, 3001);
  });

  test('the first read of a long intake stream gives the event loop turns', async () => {
    const x = intakeStore(20_000);
    // 20 µs of CPU per rejection read: 0.4 s for the stream.
    const slow = Object.assign(Object.create(x.store) as VerifiedEventStore, {
      async *readStream(stream: string, fromRevision?: number) {
        for await (const e of x.store.readStream(stream, fromRevision)) {
          spin(0.02);
          yield e;
        }
      },
    });
    const { value: a, longestMs } = await longestStall(() => explainJob(slow, 'nope'));
    assert.equal(a.found, false);
    assert.ok(longestMs < 100, `the event loop waited ${longestMs.toFixed(0)} ms at most during a read of 20,000 rejections`);
  });
});
