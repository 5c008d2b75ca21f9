import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Bus } from '../../../core/bus/bus.ts';
import { CacoMetrics, metricsHooks, quarantined, registerObservabilityRoutes, type RuntimeHealth } from '../../../core/observability/index.ts';
import { subjects } from '../../../core/runtime/subjects.ts';
import { plan } from '../../../agents/compute/planner/index.ts';
import { input, randomJobs } from '../../agents/compute/planner/fixtures.ts';
import { eventually, sample, tallySite } from './support.ts';

const T0 = Date.parse('2023-07-03T00:00:00Z');

describe('GET /metrics', { timeout: 60_000 }, () => {
  let site: Awaited<ReturnType<typeof tallySite>>;
  let metrics: CacoMetrics;
  let uninstall: () => void;
  let app: FastifyInstance;
  before(async () => {
    site = await tallySite('metrics');
    metrics = new CacoMetrics({ now: () => site.clock.now() }).watch(site.rt);
    uninstall = metrics.install();
    app = Fastify();
    registerObservabilityRoutes(app, { metrics, health: () => site.rt.health() });
    await app.ready();
  });
  after(async () => {
    uninstall?.();
    await app?.close();
    await site?.close();
  });
  const scrape = async () => {
    const r = await app.inject({ method: 'GET', url: '/metrics' });
    assert.equal(r.statusCode, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain/);
    return r.body;
  };

  test('names every CACO metric and the process metrics, in its own registry', async () => {
    const text = await scrape();
    for (const name of ['caco_events_appended_total', 'caco_events_relayed_total', 'caco_subscription_lag_events', 'caco_subscription_up', 'caco_dead_letters_total', 'caco_commands_total', 'caco_quarantined_commits_total', 'caco_planner_solve_seconds', 'caco_forecast_age_seconds', 'caco_unplaced_jobs', 'process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    // Lag is per subscriber: the tally agent's ledger subscription and the relay.
    assert.equal(sample(text, 'caco_subscription_lag_events', { site: site.site, subscriber: 'agent:tally' }), 0);
    assert.equal(sample(text, 'caco_subscription_up', { site: site.site, subscriber: 'relay' }), 1);
    // No forecast yet: not a misleading 0.
    assert.ok(Number.isNaN(sample(text, 'caco_forecast_age_seconds')));
  });

  test('appended and relayed counts move when an agent appends; lag is head minus delivered', async () => {
    const before = await scrape();
    const labels = { site: site.site, source: 'tally', type: 'example.total.reset' };
    const was = sample(before, 'caco_events_appended_total', labels) ?? 0;
    const reply = await site.rt.send('tally', 'reset', { meter: 'main', reason: 'test' }, { source: 'tester' });
    assert.equal(reply.ok, true, JSON.stringify(reply));
    await site.rt.settle();
    const text = await scrape();
    assert.equal(sample(text, 'caco_events_appended_total', labels), was + 1);
    assert.equal(sample(text, 'caco_events_relayed_total', labels), (sample(before, 'caco_events_relayed_total', labels) ?? 0) + 1);
    // Written behind the agent's and the relay's back, before they can deliver it: a lag of 1
    // is possible but not certain, so compare with what health() reports at the same moment.
    const h = await site.rt.health();
    assert.equal(h.subscriptions.find((s) => s.name === 'relay')?.lag, h.head - h.subscriptions.find((s) => s.name === 'relay')!.position);
  });

  test('dead letters, quarantined commits, a planner solve and the forecast age are counted', async () => {
    await site.bus.publish(subjects.command(site.site, 'tally', 'reset'), Buffer.from('{not json'));
    await site.rt.settle();
    quarantined.inc({ reason: 'hash' });
    quarantined.inc({ reason: 'hash' });
    const p = await plan(input(randomJobs(3, 7)), { horizonSlots: 8, inWorker: false, mode: 'full', timeLimitS: 5 });
    assert.ok(p.jobs.length > 0);
    // A forecast stored at T0 while the clock says T0 + 90 s: the relay sees it, the gauge ages it.
    await site.store.append('forecast-x', [{ id: 'fc-1', type: 'grid.forecast.published', version: 1, time: new Date(T0).toISOString(), source: 'grid', correlationId: 'fc-1', causationId: null, data: {} }], 'any');
    site.clock.advanceTo(T0 + 90_000);
    await site.rt.settle();
    const text = await scrape();
    assert.equal(sample(text, 'caco_dead_letters_total', { site: site.site, agent: 'tally' }), 1);
    // The junk command: taken by the intake and refused there, by its refusal's code.
    assert.equal(sample(text, 'caco_commands_total', { site: site.site, agent: 'tally', outcome: 'refused', code: 'bad-request' }), 1);
    assert.ok((sample(text, 'caco_commands_total', { site: site.site, agent: 'tally', outcome: 'taken', code: '' }) ?? 0) >= 1);
    assert.equal(sample(text, 'caco_quarantined_commits_total', { reason: 'hash' }), 2);
    assert.ok((sample(text, 'caco_planner_solve_seconds_count', { status: 'Optimal' }) ?? 0) >= 1, 'a solve observed');
    assert.equal(sample(text, 'caco_forecast_age_seconds'), (site.clock.now() - T0) / 1000);
    // The last plan's unplaced jobs: set, not added up, plan after plan.
    metricsHooks.planned(3);
    metricsHooks.planned(2);
    assert.equal(sample(await scrape(), 'caco_unplaced_jobs'), 2);
  });

  test('nothing is counted into a registry that is not installed', async () => {
    const other = new CacoMetrics({ now: () => 0, processMetrics: false });
    quarantined.inc({ reason: 'signature' });
    assert.equal(sample(await other.registry.metrics(), 'caco_quarantined_commits_total', { reason: 'signature' }), undefined);
  });
});

/** A bus whose event publishes fail once `broken` is set: the relay's subscription then dies. */
function breakableBus(inner: Bus, state: { broken: boolean }): Bus {
  return {
    get kind() {
      return inner.kind;
    },
    publish: async (subject, data, opts) => {
      if (state.broken && subject.includes('.evt.')) throw new Error('bus refused the publish (test)');
      return inner.publish(subject, data, opts);
    },
    subscribe: (s, h, o) => inner.subscribe(s, h, o),
    request: (s, d, o) => inner.request(s, d, o),
    respond: (m, d, o) => inner.respond(m, d, o),
    flush: () => inner.flush(),
    close: () => inner.close(),
  };
}

describe('GET /health', { timeout: 120_000 }, () => {
  const state = { broken: false };
  let site: Awaited<ReturnType<typeof tallySite>>;
  let app: FastifyInstance;
  before(async () => {
    site = await tallySite('health', { wrapBus: (b) => breakableBus(b, state), fragile: true });
    app = Fastify();
    registerObservabilityRoutes(app, { health: () => site.rt.health() });
    await app.ready();
  });
  after(async () => {
    await app?.close();
    await site?.close();
  });

  test('200 while the subscriptions and the relay are alive, 503 naming the relay once it has died', async () => {
    const ok = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(ok.statusCode, 200, ok.body);
    const h = ok.json<RuntimeHealth>();
    assert.equal(h.ok, true);
    assert.deepEqual(h.subscriptions.map((s) => [s.name, s.alive]), [['agent:tally', true], ['agent:fragile', true], ['relay', true]]);

    state.broken = true;
    const reply = await site.rt.send('tally', 'reset', { meter: 'main', reason: 'breaks the relay' }, { source: 'tester' });
    assert.equal(reply.ok, true, 'the append itself succeeds: only the relay fails');
    const dead = await eventually(async () => {
      const r = await app.inject({ method: 'GET', url: '/health' });
      return r.statusCode === 503 ? r : undefined;
    }, 15_000, '/health to answer 503 (a reader retries for subscriptionGiveUpMs, then gives up)');
    const body = dead.json<RuntimeHealth>();
    assert.equal(body.ok, false);
    assert.equal(body.reasons.length, 1, body.reasons.join('; '));
    assert.match(body.reasons[0]!, /^relay failed: .*bus refused the publish \(test\)/);
    assert.equal(body.subscriptions.find((s) => s.name === 'agent:tally')?.alive, true);
  });

  test('an agent whose evolve throws is retried by its host and then dead-lettered: its reader is not dead, /health stays on the relay only', async () => {
    // The fragile agent's evolve throws on this event. The agent host retries with back-off
    // and then dead-letters the input, so the agent's ledger reader moves past it rather than
    // die: health must not call that reader dead.
    const { position } = await site.store.append('fragile-1', [{ id: 'boom-1', type: 'example.total.reset', version: 1, time: '2023-07-03T00:00:00.000Z', source: 'outsider', correlationId: 'boom-1', causationId: null, data: { meter: 'boom', reason: 'test' } }], 'any');
    const h = await eventually(async () => {
      const x = await site.rt.health();
      return (x.readers.find((r) => r.name === 'agent:fragile')?.position ?? 0) >= position ? x : undefined;
    }, 45_000, 'the fragile agent to move past the poison event');
    assert.equal(h.subscriptions.find((s) => s.name === 'agent:fragile')?.alive, true);
    assert.ok(!h.reasons.some((r) => r.startsWith('agent:')), h.reasons.join('; '));
  });

  test('503 with the reason when the runtime has stopped', async () => {
    await site.rt.stop();
    const r = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(r.statusCode, 503);
    assert.ok(r.json<RuntimeHealth>().reasons.includes('runtime stopping'));
  });
});
