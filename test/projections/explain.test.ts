import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Envelope } from '../../core/envelope/index.ts';
import { explainFromEvents, explainJob } from '../../projections/explain/index.ts';
import type { EventStore, VerifiedEventStore } from '../../core/store/index.ts';
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

describe('explainJob reads without blocking the process', { timeout: 30_000 }, () => {
  test('a long scan of the events a plan may cite gives the event loop a turn (a store whose reader never waits, as SQLite)', async () => {
    const own = story([submitted, { ...planned(T0, T0 + 7 * MIN, T0 + 607 * MIN), data: { ...planned(T0, T0 + 7 * MIN, T0 + 607 * MIN).data, forecastId: 'fc-1' } }]);
    const other = (i: number) => ({ ...own[0]!, id: `g-${i}`, type: 'grid.stress.expected', stream: 'grid', position: 100 + i }) as Envelope;
    const store = {
      // Async generators that resolve on microtasks only: nothing else runs unless the reader yields.
      async *readStream(stream: string) {
        if (stream === STREAM) yield* own;
      },
      async *readAll() {
        for (let i = 0; i < 20_000; i++) yield other(i);
      },
    } as unknown as EventStore;
    let turns = 0;
    const tick = () => {
      turns++;
      if (!done) setImmediate(tick);
    };
    let done = false;
    setImmediate(tick);
    const x = await explainJob(store as unknown as VerifiedEventStore, JOB);
    done = true;
    assert.equal(x.found, true);
    assert.ok(turns >= 10, `the event loop had ${turns} turns during a scan of 20,000 events`);
  });
});
