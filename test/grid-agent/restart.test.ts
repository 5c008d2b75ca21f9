import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Runtime } from '../../core/runtime/runtime.ts';
import type { Envelope } from '../../core/envelope.ts';
import { HALF_HOUR_MS } from '../../core/time/index.ts';
import { cacoRegistry } from '../../schemas/index.ts';
import { createGridAgent } from '../../agents/grid/index.ts';
import { embeddedStack } from '../support/embedded.ts';
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
