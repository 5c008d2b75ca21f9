// test-file-timeout: 200
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import { createComputeAgent } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import type { EventStore } from '../../../core/store/event-store.ts';

// Issue 11 item 6: after a restart every missed half-hour is run once, and a crash at any
// instant of a tick (between any two of its appends) loses no half-hour of work.

const T0 = Date.parse('2023-07-03T00:00:00Z');
const H = 3_600_000;
const END = T0 + 14 * H;
const iso = (ms: number) => new Date(ms).toISOString();
const JOBS = [
  { jobId: 'a', class: 'training', powerKw: 1000, runtimeMin: 90, earliestStart: iso(T0 + 0.5 * H), deadline: iso(T0 + 8 * H), slaClass: 'silver', preemptible: false },
  { jobId: 'b', class: 'training', powerKw: 800, runtimeMin: 150, earliestStart: iso(T0 + 1 * H), deadline: iso(T0 + 10 * H), slaClass: 'silver', preemptible: true },
  { jobId: 'c', class: 'batch-inference', powerKw: 500, runtimeMin: 60, earliestStart: iso(T0 + 2 * H), deadline: iso(T0 + 6 * H), slaClass: 'bronze', preemptible: true },
  { jobId: 'd', class: 'training', powerKw: 1200, runtimeMin: 120, earliestStart: iso(T0 + 3 * H), deadline: iso(T0 + 12 * H), slaClass: 'gold', preemptible: false },
];

type Stack = ReturnType<typeof embeddedStack>;

/** Delegates to the real store until `crashAt` appends have been made; from then on every append fails, as if the process died. */
function crashingStore(real: EventStore, crashAt: number): { store: EventStore; crashed: () => boolean } {
  let appends = 0;
  let crashed = false;
  const store = new Proxy(real, {
    get(target, prop, receiver) {
      if (prop === 'append') {
        return async (...args: Parameters<EventStore['append']>) => {
          if (crashed || ++appends >= crashAt) {
            crashed = true;
            throw new Error('simulated crash');
          }
          return target.append(...args);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return { store, crashed: () => crashed };
}

function runtimeOn(s: Stack, store: EventStore, seed: string) {
  // Checkpoints go to the real store: they only shorten a restart, and the crash is about the ledger.
  const rt = new Runtime({ ...s, store, site: seed, checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', maxAttempts: 1, backoffMs: 1 });
  rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
  return rt;
}

/** Advance the clock timer by timer until `until` or until `stop()` says so. */
async function drive(s: Stack, rt: Runtime, until: number, stop: () => boolean = () => false): Promise<void> {
  for (let next = s.clock.nextTimerAt(); next !== undefined && next <= until && !stop(); next = s.clock.nextTimerAt()) {
    s.clock.advanceToNextTimer();
    await rt.settle();
  }
  await rt.settle();
}

async function submitAll(rt: Runtime): Promise<void> {
  for (const j of JOBS) {
    const r = await rt.send('compute', 'submit', j);
    assert.equal(r.ok, true, JSON.stringify(r));
  }
  await rt.settle();
}

async function ledger(store: EventStore): Promise<Envelope[]> {
  const out: Envelope[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
}

/** What a half-hour of work leaves: the IT energy metered per period, and each job's completion. */
function work(events: ReadonlyArray<Envelope>) {
  const meters = events.filter((e) => e.type === 'site.meter.read').map((e) => e.data as { periodStart: string; itKwh: number });
  const completed = events.filter((e) => e.type === 'compute.job.completed').map((e) => e.data as { jobId: string; energyKwh: number; late: boolean });
  const starts = events.filter((e) => e.type === 'compute.job.started').map((e) => { const d = e.data as { jobId: string; at: string }; return `${d.jobId}@${d.at}`; });
  return { meters, completed, starts };
}

function assertNoHalfHourLost(label: string, got: ReturnType<typeof work>, want: ReturnType<typeof work>) {
  const periods = got.meters.map((m) => m.periodStart);
  assert.equal(new Set(periods).size, periods.length, `${label}: a half-hour metered twice: ${periods.join(' ')}`);
  assert.deepEqual(periods, want.meters.map((m) => m.periodStart), `${label}: metered periods differ from the uninterrupted run`);
  const itTotal = (w: ReturnType<typeof work>) => w.meters.reduce((a, m) => a + m.itKwh, 0);
  assert.ok(Math.abs(itTotal(got) - itTotal(want)) < 0.01, `${label}: IT energy ${itTotal(got)} kWh, uninterrupted ${itTotal(want)} kWh`);
  assert.deepEqual(got.completed.map((c) => c.jobId).sort(), want.completed.map((c) => c.jobId).sort(), `${label}: completed jobs`);
  for (const c of got.completed) assert.equal(c.late, false, `${label}: job ${c.jobId} late`);
  assert.equal(new Set(got.starts).size, got.starts.length, `${label}: a job started twice in one half-hour: ${got.starts.join(' ')}`);
}

async function uninterrupted(): Promise<{ events: Envelope[]; computeAppends: number[] }> {
  const s = embeddedStack('catch-up');
  let appends = 0;
  const marks: number[] = [];
  try {
    const counting = new Proxy(s.store, {
      get(target, prop, receiver) {
        if (prop === 'append') return async (...args: Parameters<EventStore['append']>) => { appends++; marks.push(appends); return target.append(...args); };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const rt = runtimeOn(s, counting, 'catch-up');
    await rt.start();
    await submitAll(rt);
    await drive(s, rt, END);
    await rt.stop();
    return { events: await ledger(s.store), computeAppends: marks };
  } finally {
    await s.close();
  }
}

test('a restart after hours down runs every missed half-hour once: the same metering, starts and completions as without the outage', async () => {
  const want = work((await uninterrupted()).events);
  assert.ok(want.completed.length === JOBS.length && want.meters.length > 20, 'the reference run does the work');
  const s = embeddedStack('catch-up');
  try {
    const rt1 = runtimeOn(s, s.store, 'catch-up');
    await rt1.start();
    await submitAll(rt1);
    await drive(s, rt1, T0 + 4 * H);
    await rt1.stop();
    // Down from 04:00 to 07:07: six half-hour ticks never ran.
    s.clock.advanceTo(T0 + 7 * H + 7 * 60_000);
    const rt2 = runtimeOn(s, s.store, 'catch-up');
    await rt2.start();
    await rt2.settle();
    await drive(s, rt2, END);
    await rt2.stop();
    assertNoHalfHourLost('outage 04:00-07:07', work(await ledger(s.store)), want);
  } finally {
    await s.close();
  }
});

test('a crash between any two appends of a tick loses no half-hour: the restarted agent completes the tick once', async () => {
  const ref = await uninterrupted();
  const want = work(ref.events);
  // Crash points: appends inside ticks that write several streams (meter, jobs, plan), where a
  // crash leaves a tick half-written. The 5 submissions are appends 1-4 (one each).
  const byCause = new Map<string, Envelope[]>();
  for (const e of ref.events) if (e.source === 'compute') byCause.set(e.causationId ?? '', [...(byCause.get(e.causationId ?? '') ?? []), e]);
  const multiStream = [...byCause.values()].filter((es) => new Set(es.map((e) => e.stream)).size >= 3);
  assert.ok(multiStream.length >= 4, 'the reference run has ticks that write several streams');
  // The i-th append of the run wrote the i-th distinct (cause, stream) commit in ledger order.
  const commits: Array<{ cause: string; stream: string }> = [];
  for (const e of ref.events) {
    const last = commits.at(-1);
    if (!last || last.cause !== e.causationId || last.stream !== e.stream) commits.push({ cause: e.causationId ?? '', stream: e.stream });
  }
  const points: number[] = [];
  for (let i = 1; i < commits.length; i++) {
    // A crash at append i+1 leaves commit i written and the rest of its tick not.
    if (commits[i]!.cause === commits[i - 1]!.cause && byCause.get(commits[i]!.cause)!.length > 2) points.push(i + 1);
  }
  const chosen = [...new Set([points[0]!, points[1]!, points[Math.floor(points.length / 3)]!, points[Math.floor(points.length / 2)]!, points.at(-2)!, points.at(-1)!])];
  assert.ok(chosen.length >= 4, `crash points ${chosen.join(',')}`);
  for (const crashAt of chosen) {
    const s = embeddedStack('catch-up');
    try {
      const c = crashingStore(s.store, crashAt);
      const rt1 = runtimeOn(s, c.store, 'catch-up');
      await rt1.start();
      await submitAll(rt1);
      await drive(s, rt1, END, c.crashed);
      assert.ok(c.crashed(), `crash point ${crashAt} was reached`);
      await rt1.stop().catch(() => undefined);
      const rt2 = runtimeOn(s, s.store, 'catch-up');
      await rt2.start();
      await rt2.settle();
      await drive(s, rt2, END);
      await rt2.stop();
      assertNoHalfHourLost(`crash at append ${crashAt}`, work(await ledger(s.store)), want);
    } finally {
      await s.close();
    }
  }
});
