import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Message } from '../../core/envelope/envelope.ts';
import { combine, fold, projection, step, type FoldEvent, type Projection } from '../../projections/index.ts';
import { scheduleProjection } from '../../projections/schedule/index.ts';
import { JobCompleted, JobStarted, SignalDegraded } from '../../schemas/index.ts';

const T = (m: number) => new Date(Date.parse('2023-07-03T00:00:00Z') + m * 60_000).toISOString();

/** kW started, summed: reads one type. */
const started = projection({
  name: 'started',
  handles: [JobStarted],
  initial: { kw: 0, n: 0 },
  evolve: (s, e) => ({ kw: s.kw + e.data.kw, n: s.n + 1 }),
});

/** Jobs completed, in order, and how many were late: reads another type, order-sensitive. */
const completed = projection({
  name: 'completed',
  handles: [JobCompleted, SignalDegraded],
  initial: { jobs: [] as ReadonlyArray<string>, late: 0, degraded: 0 },
  evolve: (s, e) => {
    switch (e.type) {
      case 'compute.job.completed':
        return { ...s, jobs: [...s.jobs, e.data.jobId], late: s.late + (e.data.late ? 1 : 0) };
      case 'grid.signal.degraded':
        return { ...s, degraded: s.degraded + 1 };
      default: {
        const _never: never = e;
        return _never;
      }
    }
  },
});

const jobId = fc.constantFrom('a', 'b', 'c');
const event: fc.Arbitrary<FoldEvent> = fc.oneof(
  fc.record({ type: fc.constant('compute.job.started'), data: fc.record({ jobId, at: fc.nat(600).map(T), kw: fc.nat(5000) }) }),
  fc.record({ type: fc.constant('compute.job.completed'), data: fc.record({ jobId, at: fc.nat(600).map(T), energyKwh: fc.nat(100), costGbp: fc.integer({ min: -5, max: 50 }), carbonKg: fc.nat(10), late: fc.boolean() }) }),
  fc.record({ type: fc.constant('grid.signal.degraded'), data: fc.record({ reason: fc.constant('x'), source: fc.constant('y'), lastGoodForecastId: fc.constant(null), lastGoodIssuedAt: fc.constant(null) }) }),
  fc.record({
    type: fc.constant('compute.job.submitted'),
    data: fc.record({ jobId, class: fc.constantFrom('training' as const, 'serving' as const), powerKw: fc.nat(2000), gpuCount: fc.constant(null), runtimeMin: fc.nat(300), runtimeSource: fc.constant('given' as const), runtimeModel: fc.constant(null), earliestStart: fc.constant(T(0)), deadline: fc.constant(T(600)), slaClass: fc.constant('gold' as const), preemptible: fc.boolean() }),
  }),
  // Types none of the projections here read.
  fc.record({ type: fc.constantFrom('flex.order.rated', 'x.y.z'), data: fc.anything() }),
);
const events = fc.array(event, { maxLength: 40 });

function concatenates<S, E extends Message>(p: Projection<S, E>, xs: ReadonlyArray<FoldEvent>, ys: ReadonlyArray<FoldEvent>): void {
  assert.deepEqual(fold(p, [...xs, ...ys]), fold(p, ys, fold(p, xs)), p.name);
}

function ignoresUnhandled<S, E extends Message>(p: Projection<S, E>, xs: ReadonlyArray<FoldEvent>, unhandled: FoldEvent): void {
  const s = fold(p, xs);
  assert.equal(step(p, s, unhandled), s, p.name);
}

describe('projection kit', () => {
  test('folding a concatenation is folding the second part from the fold of the first', () => {
    fc.assert(
      fc.property(events, events, (xs, ys) => {
        concatenates(started, xs, ys);
        concatenates(completed, xs, ys);
        concatenates(scheduleProjection, xs, ys);
        concatenates(combine({ started, completed, schedule: scheduleProjection }), xs, ys);
      }),
      { numRuns: 100 },
    );
  });

  test('a combined projection folds each part as that part folds alone', () => {
    fc.assert(
      fc.property(events, (xs) => {
        const both = fold(combine({ started, completed, schedule: scheduleProjection }), xs);
        assert.deepEqual(both.started, fold(started, xs));
        assert.deepEqual(both.completed, fold(completed, xs));
        assert.deepEqual(both.schedule, fold(scheduleProjection, xs));
      }),
      { numRuns: 100 },
    );
  });

  test('an event of a type a projection does not handle leaves its state as it was, the same object', () => {
    const whole = combine({ started, completed });
    fc.assert(
      fc.property(events, fc.constantFrom('flex.order.rated', 'x.y.z', 'compute.job.submitted'), fc.anything(), (xs, type, data) => {
        ignoresUnhandled(started, xs, { type, data });
        ignoresUnhandled(completed, xs, { type, data });
        ignoresUnhandled(whole, xs, { type, data });
        ignoresUnhandled(scheduleProjection, xs, { type: 'x.y.z', data });
      }),
      { numRuns: 100 },
    );
  });

  test('a combined projection handles what its parts handle, and starts from their initial states', () => {
    const whole = combine({ started, completed });
    assert.deepEqual(whole.initial, { started: started.initial, completed: completed.initial });
    assert.ok(whole.handles !== 'all');
    assert.deepEqual(whole.handles.map((d) => d.type).sort(), ['compute.job.completed', 'compute.job.started', 'grid.signal.degraded']);
    const s = fold(whole, [{ type: 'compute.job.started', data: { jobId: 'a', at: T(0), kw: 7 } }]);
    assert.equal(s.completed, whole.initial.completed, 'a part the event does not concern keeps its state object');
    assert.deepEqual(s.started, { kw: 7, n: 1 });
  });
});
