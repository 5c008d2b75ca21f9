import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../../core/runtime/runtime.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import { createComputeAgent } from '../../../agents/compute/index.ts';
import { DEFAULT_SITE } from '../../../agents/compute/jobs/index.ts';
import type { ComputeState } from '../../../agents/compute/state.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import { advanceAndSettle } from '../../../sim/clock-driver.ts';

const T0 = Date.parse('2023-07-03T00:00:00Z');
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

async function events(store: { readAll(): AsyncIterable<Envelope> }) {
  const out: Envelope[] = [];
  for await (const e of store.readAll()) out.push(e);
  return out;
}

function job(id: string, startH: number, runtimeMin: number, slackH: number, extra: Record<string, unknown> = {}) {
  return { jobId: id, class: 'training', powerKw: 1000, runtimeMin, earliestStart: iso(T0 + startH * H), deadline: iso(T0 + startH * H + runtimeMin * 60_000 + slackH * H), slaClass: 'silver', preemptible: false, ...extra };
}

test('jobs are accepted, planned, started, metered and completed by their deadlines; bad jobs are rejected with field and reason', async () => {
  const s = embeddedStack('compute');
  const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep' });
  const compute = rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
  await rt.start();
  await rt.settle();
  const ok = await rt.send('compute', 'submit', job('a', 0.5, 90, 6));
  assert.equal(ok.ok, true, JSON.stringify(ok));
  await rt.send('compute', 'submit', job('b', 1, 60, 3, { preemptible: true }));
  // A negative power is refused by the schema at intake: a reply with the reason, nothing on the ledger.
  const negative = await rt.send('compute', 'submit', { ...job('n', 2, 60, 1), powerKw: -5 });
  assert.equal(negative.ok, false);
  assert.deepEqual(negative.ok ? [] : negative.error.problems?.map((p) => p.path), ['data.powerKw']);
  // Well-formed but impossible at this site: the agent refuses it on the ledger, naming each field.
  const bad = await rt.send('compute', 'submit', { ...job('c', 2, 600, 1), deadline: iso(T0 + H), powerKw: 50_000 });
  assert.equal(bad.ok, true);
  await rt.settle();
  await advanceAndSettle(s.clock, rt, T0 + 16 * H);
  const all = await events(s.store);
  const rejected = all.filter((e) => e.type === 'compute.job.rejected');
  assert.equal(rejected.length, 1);
  const fields = (rejected[0]!.data as { problems: Array<{ field: string }> }).problems.map((p) => p.field);
  assert.ok(fields.includes('powerKw') && fields.includes('deadline'), JSON.stringify(rejected[0]!.data));
  for (const id of ['a', 'b']) {
    const types = all.filter((e) => e.stream === `job-${id}`).map((e) => e.type);
    assert.equal(types[0], 'compute.job.submitted');
    assert.ok(types.includes('compute.job.planned'));
    assert.ok(types.includes('compute.job.started'), `${id}: ${types.join(',')}`);
    assert.equal(types.at(-1), 'compute.job.completed', `${id}: ${types.join(',')}`);
    const done = all.find((e) => e.stream === `job-${id}` && e.type === 'compute.job.completed')!.data as { late: boolean; energyKwh: number };
    assert.equal(done.late, false);
  }
  const st = compute.state as ComputeState;
  assert.equal(st.active.size, 0);
  // The meter books exactly the jobs' energy: 1 MW × 1.5 h + 1 MW × 1 h = 2,500 kWh of IT.
  const itKwh = all.filter((e) => e.type === 'site.meter.read').reduce((a, e) => a + (e.data as { itKwh: number }).itKwh, 0);
  assert.ok(Math.abs(itKwh - 2500) < 1, `metered ${itKwh} kWh`);
  assert.equal(all.filter((e) => e.type === 'compute.job.deadline-missed').length, 0);
  // Rebuilding the state (as after a failure) gives the same state, not a doubled one.
  await compute.restore();
  await compute.restore();
  assert.equal((compute.state as ComputeState).jobs.size, 2);
  assert.equal(Math.round((compute.state as ComputeState).jobs.get('a')!.energyKwh), 1500);
  await rt.stop();
  // A restarted agent rebuilds the same jobs from the ledger and does nothing twice.
  const rt2 = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep' });
  const again = rt2.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
  await rt2.start();
  await rt2.settle();
  assert.equal((again.state as ComputeState).jobs.size, 2);
  assert.equal((again.state as ComputeState).active.size, 0);
  assert.equal((await events(s.store)).length, all.length);
  await rt2.stop();
  await s.close();
});

for (const [powerKw, runtimeMin] of [[0.0014, 60], [0.0016, 59]] as const) {
  test(`a tiny job with odd decimals (${powerKw * 1000} W, ${runtimeMin} min, due in ${runtimeMin} min) on an empty site finishes on time, never metered above its own power`, async () => {
    // A helper's review: dispatched at round(1.4 W) = 1 W it did 21 of 30 minutes a half-hour,
    // missed the deadline it was accepted for, and finished late with 0 kWh on the ledger; a
    // 1.6 W job's last 29 minutes (1.55 W) were metered at 2 W and counted 37.5 minutes.
    const s = embeddedStack('compute');
    const rt = new Runtime({ ...s, site: 't', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep' });
    try {
      rt.add(createComputeAgent({ site: DEFAULT_SITE, planOptions: { inWorker: false, timeLimitS: 5 } }));
      await rt.start();
      await rt.settle();
      const reply = await rt.send('compute', 'submit', { ...job('tiny', 0, runtimeMin, 0), powerKw, slaClass: 'gold' });
      assert.equal(reply.ok, true, JSON.stringify(reply));
      await advanceAndSettle(s.clock, rt, T0 + 5 * H);
      const all = await events(s.store);
      assert.equal(all.filter((e) => e.type === 'compute.job.deadline-missed').length, 0);
      const done = all.find((e) => e.type === 'compute.job.completed')?.data as { late: boolean; energyKwh: number } | undefined;
      assert.equal(done?.late, false, JSON.stringify(done));
      const kws = all.filter((e) => e.type === 'site.meter.read').flatMap((e) => (e.data as { jobs: Array<{ jobId: string; kw: number }> }).jobs).filter((r) => r.jobId === 'tiny').map((r) => r.kw);
      assert.ok(kws.length >= 2, `metered in ${kws.length} half-hours`);
      assert.ok(kws.every((kw) => kw <= powerKw + 1e-12), `metered ${kws.join(', ')} kW`);
    } finally {
      await rt.stop();
      await s.close();
    }
  });
}
