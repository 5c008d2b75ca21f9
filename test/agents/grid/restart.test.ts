import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../../core/runtime/runtime.ts';
import type { Envelope } from '../../../core/envelope/envelope.ts';
import { HALF_HOUR_MS } from '../../../core/time/index.ts';
import { cacoRegistry } from '../../../schemas/index.ts';
import { createGridAgent } from '../../../agents/grid/index.ts';
import { embeddedStack } from '../../support/embedded.ts';
import { naiveForecaster, ofType, recordedSource } from './harness.ts';

test('a restart on the same ledger (same instant) neither repeats the tick nor re-announces a window, and carries on', async () => {
  const start = Date.parse('2023-07-04T00:00:00Z');
  const s = embeddedStack('restart', start);
  const deps = { source: recordedSource(), forecaster: naiveForecaster() };
  const runUntil = async (untilMs: number) => {
    const rt = new Runtime({ ...s, site: 'test', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep' });
    const host = rt.add(createGridAgent(deps));
    await rt.start();
    for (let next = s.clock.nextTimerAt(); next !== undefined && next < untilMs; next = s.clock.nextTimerAt()) {
      s.clock.advanceToNextTimer();
      await rt.settle();
    }
    await rt.settle();
    const state = host.state;
    await rt.stop();
    return state;
  };
  try {
    const mid = start + 12 * 3_600_000;
    const before = await runUntil(mid);
    // The clock stands at 11:30, a tick already handled: the restarted agent arms it again at once.
    assert.equal(before.lastTickMs, mid - HALF_HOUR_MS);
    const after = await runUntil(start + 24 * 3_600_000);
    assert.ok(after.lastTickMs! > before.lastTickMs!);
    const events: Envelope[] = [];
    for await (const e of s.store.readAll()) events.push(e);
    const forecasts = ofType<{ forecastId: string }>(events, 'grid.forecast.published').map((e) => e.data.forecastId);
    assert.equal(forecasts.length, 48);
    assert.equal(new Set(forecasts).size, 48);
    const stress = ofType<{ stressId: string }>(events, 'grid.stress.expected').map((e) => e.data.stressId);
    assert.equal(new Set(stress).size, stress.length);
    const periods = ofType<{ periodStart: string }>(events, 'grid.signal.observed').map((e) => e.data.periodStart);
    assert.equal(periods.length, 48);
    assert.equal(new Set(periods).size, 48);
  } finally {
    await s.close();
  }
});

test('a second start at an instant already handled does not handle it again', async () => {
  const start = Date.parse('2023-07-04T00:00:00Z');
  const s = embeddedStack('restart-same', start);
  const deps = { source: recordedSource(), forecaster: naiveForecaster() };
  try {
    for (let i = 0; i < 2; i++) {
      const rt = new Runtime({ ...s, site: 'test', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep' });
      rt.add(createGridAgent(deps));
      await rt.start();
      // The first tick is due at once (00:00 is a boundary); the clock does not move between the runs.
      s.clock.advanceTo(start);
      await rt.settle();
      await rt.stop();
    }
    const events: Envelope[] = [];
    for await (const e of s.store.readAll()) events.push(e);
    assert.equal(ofType(events, 'grid.forecast.published').length, 1);
    assert.equal(ofType(events, 'grid.signal.observed').length, 1);
  } finally {
    await s.close();
  }
});

test('a forecast at start-up: an agent started mid half-hour publishes one at once, not at the next boundary', async () => {
  const start = Date.parse('2023-07-04T10:07:00Z');
  const s = embeddedStack('startup', start);
  try {
    const rt = new Runtime({ ...s, site: 'test', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep' });
    rt.add(createGridAgent({ source: recordedSource(), forecaster: naiveForecaster() }));
    await rt.start();
    s.clock.advanceTo(start);
    await rt.settle();
    const events: Envelope[] = [];
    for await (const e of s.store.readAll()) events.push(e);
    const f = ofType<{ forecastId: string; issuedAt: string; startsAt: string }>(events, 'grid.forecast.published');
    assert.equal(f.length, 1);
    assert.equal(f[0]!.data.issuedAt, '2023-07-04T10:07:00.000Z');
    assert.equal(f[0]!.data.startsAt, '2023-07-04T10:00:00.000Z');
    await rt.stop();
  } finally {
    await s.close();
  }
});

test('a tick cut short after its signals (before the forecast) is completed on restart: that half-hour keeps its forecast', async () => {
  const start = Date.parse('2023-07-04T00:00:00Z');
  const s = embeddedStack('cut-short', start);
  const deps = { source: recordedSource(), forecaster: naiveForecaster() };
  try {
    // The first run dies on its first forecast append: the signals of the tick are on the ledger.
    const dying = new Proxy(s.store, {
      get(target, prop, receiver) {
        if (prop === 'append') {
          return async (...args: Parameters<typeof s.store.append>) => {
            if (args[0].startsWith('grid-forecast')) throw new Error('simulated crash');
            return target.append(...args);
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const rt1 = new Runtime({ ...s, store: dying, site: 'test', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep', maxAttempts: 1, backoffMs: 1 });
    rt1.add(createGridAgent(deps));
    await rt1.start();
    s.clock.advanceTo(start + 10 * 60_000);
    await rt1.settle();
    await rt1.stop();
    const before: Envelope[] = [];
    for await (const e of s.store.readAll()) before.push(e);
    assert.equal(ofType(before, 'grid.signal.observed').length, 1, 'the signals were appended');
    assert.equal(ofType(before, 'grid.forecast.published').length, 0, 'the forecast was not');
    const rt2 = new Runtime({ ...s, site: 'test', checkpoints: s.store, registry: cacoRegistry(), delivery: 'lockstep' });
    rt2.add(createGridAgent(deps));
    await rt2.start();
    s.clock.advanceTo(start + 10 * 60_000);
    await rt2.settle();
    await rt2.stop();
    const after: Envelope[] = [];
    for await (const e of s.store.readAll()) after.push(e);
    const f = ofType<{ startsAt: string }>(after, 'grid.forecast.published');
    assert.deepEqual(f.map((e) => e.data.startsAt), ['2023-07-04T00:00:00.000Z']);
    assert.equal(ofType(after, 'grid.signal.observed').length, 1, 'no signal written twice');
  } finally {
    await s.close();
  }
});
