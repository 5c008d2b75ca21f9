import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { sameTimeOfWeekOffset } from '../../../../agents/grid/sources/index.ts';
import { londonOffsetMs } from '../../../../agents/grid/sources/london-offset.ts';
import { HH, utc } from './helpers.ts';

const DAY = 86_400_000;
const WEEK = 7 * DAY;
const dataFromMs = utc('2022-12-31T23:30Z');
const dataToMs = utc('2023-10-01T00:00Z');

const wall = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/London', weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const londonWeekTime = (ms: number) => wall.format(new Date(ms));
const nearDstChange = (ms: number) => londonOffsetMs(ms - 2 * 3_600_000) !== londonOffsetMs(ms + 2 * 3_600_000);

describe('sameTimeOfWeekOffset', () => {
  test('property: the mapped now has the same London weekday and wall time, fits the data, and is the latest week that does', () => {
    fc.assert(
      fc.property(fc.integer({ min: utc('2024-01-01T00:00Z'), max: utc('2031-01-01T00:00Z') }), fc.integer({ min: 0, max: 14 }), (now, runwayDays) => {
        const runwayMs = runwayDays * DAY;
        const offset = sameTimeOfWeekOffset(now, { dataFromMs, dataToMs, runwayMs });
        assert.equal(offset % HH, 0, 'offset must keep the half-hour grid');
        const mapped = now - offset;
        assert.ok(mapped >= dataFromMs + 7 * DAY && mapped <= dataToMs - runwayMs + HH, new Date(mapped).toISOString());
        assert.ok(mapped + WEEK + 3_600_000 > dataToMs - runwayMs + HH, 'a later week would also have fitted');
        if (!nearDstChange(mapped) && !nearDstChange(now)) assert.equal(londonWeekTime(mapped), londonWeekTime(now));
      }),
      { numRuns: 500 },
    );
  });

  test('winter now mapped into summer data keeps the local wall clock (an hour apart in UTC)', () => {
    const now = utc('2026-01-15T17:00Z'); // Thu 17:00 GMT
    const offset = sameTimeOfWeekOffset(now, { dataFromMs, dataToMs, runwayMs: 0 });
    const mapped = now - offset;
    assert.equal(new Date(mapped).toISOString(), '2023-09-28T16:00:00.000Z'); // Thu 17:00 BST
    assert.equal(londonWeekTime(mapped), 'Thu 17:00');
  });

  test('notBeforeMs and an impossible window', () => {
    const now = utc('2026-01-15T17:00Z');
    const o = sameTimeOfWeekOffset(now, { dataFromMs, dataToMs, runwayMs: 60 * DAY, notBeforeMs: utc('2023-07-01T00:00Z') });
    const mapped = now - o;
    assert.ok(mapped >= utc('2023-07-01T00:00Z') && mapped <= dataToMs - 60 * DAY);
    assert.throws(() => sameTimeOfWeekOffset(now, { dataFromMs, dataToMs: dataFromMs + 10 * DAY }), RangeError);
    assert.throws(() => sameTimeOfWeekOffset(now, { dataFromMs, dataToMs, runwayMs: 90 * DAY, notBeforeMs: utc('2023-07-01T00:00Z') }), RangeError);
  });

  test('a now before the data maps forwards', () => {
    const now = utc('2021-05-05T09:00Z');
    const mapped = now - sameTimeOfWeekOffset(now, { dataFromMs, dataToMs });
    assert.ok(mapped > now);
    assert.equal(londonWeekTime(mapped), londonWeekTime(now));
  });
});
