import { test } from 'node:test';
import assert from 'node:assert/strict';
import { coverWindows } from '../../../agents/compute/cover-windows.ts';
import type { Job } from '../../../agents/compute/jobs/index.ts';

const SLOT = 1_800_000;
const T = Date.parse('2023-07-10T00:00:00Z');
const forecast = { startMs: T, priceGbpPerMwh: new Array<number>(96).fill(80), intensityGPerKwh: new Array<number>(96).fill(150) };
const job = (deadlineH: number): Job => ({ id: 'j', class: 'training', powerKw: 100, runtimeMin: 60, earliestStartMs: T, deadlineMs: T + deadlineH * 3_600_000, slaClass: 'bronze', preemptible: true });

test('issue 13: the compute agent extends its 48 h forecast to a long window with the past week only', { timeout: 30_000 }, () => {
  const actuals = new Map<number, { carbon: number | null; price: number | null }>();
  // The past week: 18:00 costs 300, every other half-hour 50; the future (≥ T) is poisoned.
  for (let i = -7 * 48; i < 7 * 48; i++) {
    const tod = ((i % 48) + 48) % 48;
    actuals.set(T + i * SLOT, i >= 0 ? { carbon: 9999, price: 9999 } : { carbon: tod === 36 ? 300 : 50, price: tod === 36 ? 300 : 50 });
  }
  const o = { minSlots: 96, maxSlots: 336 };
  assert.equal(coverWindows(T, actuals, forecast, [job(24)], o), forecast, 'a window inside 48 h: the forecast alone');
  const long = coverWindows(T, actuals, forecast, [job(100)], o);
  assert.equal(long.priceGbpPerMwh.length, 200);
  assert.deepEqual(long.priceGbpPerMwh.slice(0, 96), forecast.priceGbpPerMwh);
  assert.equal(long.priceGbpPerMwh[96 + 36], 300, '18:00 on day 3 from the profile of the past week');
  assert.equal(long.intensityGPerKwh[96 + 10], 50);
  assert.ok(long.priceGbpPerMwh.every((v) => v < 9999), 'nothing from after the decision time');
  assert.equal(coverWindows(T, actuals, forecast, [job(24 * 30)], o).priceGbpPerMwh.length, 336, 'at most 7 days');
  assert.equal(coverWindows(T, new Map(), forecast, [job(100)], o), forecast, 'no history yet: the forecast alone');
});
