import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BadResponseError, CarbonIntensityClient } from '../../../../agents/grid/sources/index.ts';
import { fakeFetch, fixture, fixtureText, HH, recordingSleep, utc, type FakeReply } from './helpers.ts';

const ciTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}Z`;

function client(handler: (url: URL) => FakeReply, opts: { maxRangeDays?: number } = {}) {
  const f = fakeFetch(handler);
  return { c: new CarbonIntensityClient({ fetch: f, sleep: recordingSleep(), ...opts }), f };
}

/** A composed range answer, like the live API's: it also returns the half-hour ending at `from`. */
function composedRange(url: URL): FakeReply {
  const m = /^\/intensity\/([^/]+)\/([^/]+)$/.exec(url.pathname);
  if (!m) return { status: 404, body: { error: { code: '404', message: 'no route' } } };
  const a = Date.parse(m[1] as string);
  const b = Date.parse(m[2] as string);
  const data = [];
  for (let t = a - HH; t < b; t += HH) {
    const g = 100 + ((t / HH) % 97);
    data.push({ from: ciTime(t), to: ciTime(t + HH), intensity: { forecast: g + 3, actual: g, index: 'moderate' } });
  }
  return { body: { data } };
}

describe('CarbonIntensityClient (injected fetch, fixtures)', () => {
  test('fw48h decodes the documented shape: 96 half-hours, actual only where closed', async () => {
    const { c, f } = client(() => ({ body: fixtureText('ci-national-fw48h-2026-01-15T1630Z.json') }));
    const pts = await c.fw48h(utc('2026-01-15T16:30Z'));
    assert.equal(f.urls[0]?.href, 'https://api.carbonintensity.org.uk/intensity/2026-01-15T16:30Z/fw48h');
    assert.equal(pts.length, 96);
    assert.deepEqual(pts.slice(0, 3).map((p) => [new Date(p.fromMs).toISOString(), p.forecastGPerKwh, p.actualGPerKwh]), [
      ['2026-01-15T16:30:00.000Z', 231, 236],
      ['2026-01-15T17:00:00.000Z', 244, null],
      ['2026-01-15T17:30:00.000Z', 229, null],
    ]);
    assert.equal(pts.filter((p) => p.actualGPerKwh !== null).length, 1);
    for (let i = 1; i < pts.length; i++) assert.equal(pts[i]!.fromMs - pts[i - 1]!.fromMs, HH);
  });

  test('pt24h asks the documented path', async () => {
    const { c, f } = client(() => ({ body: { data: [] } }));
    await c.pt24h(utc('2026-01-15T17:00Z'));
    assert.equal(f.urls[0]?.pathname, '/intensity/2026-01-15T17:00Z/pt24h');
  });

  test('a base URL option is honoured (trailing slash or not)', async () => {
    const f = fakeFetch(() => ({ body: { data: [] } }));
    await new CarbonIntensityClient({ fetch: f, baseUrl: 'http://127.0.0.1:9/ci/' }).fw48h(utc('2026-01-15T17:00Z'));
    assert.equal(f.urls[0]?.href, 'http://127.0.0.1:9/ci/intensity/2026-01-15T17:00Z/fw48h');
  });

  test('regional fw48h: the array and the object form of the outer data give the same series', async () => {
    const from = utc('2026-01-15T17:00Z');
    const arr = await client(() => ({ body: fixtureText('ci-regional-fw48h-regionid-13-array.json') })).c.regionalFw48h(from, 13);
    const { c, f } = client(() => ({ body: fixtureText('ci-regional-fw48h-regionid-13-object.json') }));
    const obj = await c.regionalFw48h(from, 13);
    assert.equal(f.urls[0]?.pathname, '/regional/intensity/2026-01-15T17:00Z/fw48h/regionid/13');
    assert.deepEqual(obj, arr);
    assert.equal(arr.regionId, 13);
    assert.equal(arr.shortname, 'London');
    assert.equal(arr.points.length, 96);
    assert.deepEqual(arr.points.slice(0, 2).map((p) => p.forecastGPerKwh), [252, 247]);
    const mix = arr.points[0]!.generationMix.reduce((s, g) => s + g.perc, 0);
    assert.ok(Math.abs(mix - 100) < 0.01, `mix sums to ${mix}`);
  });

  test('regional: a series for another region is a BadResponse, not silently used', async () => {
    const body = fixture<{ data: { regionid: number } }>('ci-regional-fw48h-regionid-13-object.json');
    body.data.regionid = 12;
    const e = await client(() => ({ body })).c.regionalFw48h(utc('2026-01-15T17:00Z'), 13).then(
      () => assert.fail('expected a rejection'),
      (x: unknown) => x,
    );
    assert.ok(e instanceof BadResponseError, `expected BadResponseError, got ${String(e).slice(0, 200)}`);
    assert.deepEqual(e.problems.map((p) => p.path), ['data.regionid']);
  });

  test('regional: a wrong field inside the object form is named with its path', async () => {
    const body = fixture<{ data: { data: Array<{ intensity: { forecast: unknown } }> } }>('ci-regional-fw48h-regionid-13-object.json');
    body.data.data[4]!.intensity.forecast = null;
    const e = await client(() => ({ body })).c.regionalFw48h(utc('2026-01-15T17:00Z'), 13).catch((x: unknown) => x);
    assert.ok(e instanceof BadResponseError, `expected BadResponseError, got ${String(e).slice(0, 200)}`);
    assert.ok(e.problems.some((p) => p.path === 'data.data[4].intensity.forecast'), JSON.stringify(e.problems));
  });

  test('a record that is not one half-hour is a BadResponse at data[i].to', async () => {
    const body = fixture<{ data: Array<{ to: string }> }>('ci-national-fw48h-2026-01-15T1630Z.json');
    body.data[7]!.to = '2026-01-15T21:30Z'; // from is 20:00Z
    const e = await client(() => ({ body })).c.fw48h(utc('2026-01-15T16:30Z')).catch((x: unknown) => x);
    assert.ok(e instanceof BadResponseError, `expected BadResponseError, got ${String(e).slice(0, 200)}`);
    assert.deepEqual(e.problems.map((p) => p.path), ['data[7].to']);
  });

  test('range: 30 days go out as pieces of at most 14 days, and each half-hour comes back once', async () => {
    const from = utc('2026-01-01T00:00Z');
    const to = utc('2026-01-31T00:00Z');
    const { c, f } = client(composedRange);
    const pts = await c.range(from, to);
    assert.equal(f.urls.length, 3);
    const pieces = f.urls
      .map((u) => u.pathname.split('/').slice(2).map((s) => Date.parse(s)))
      .sort((x, y) => x[0]! - y[0]!);
    assert.equal(pieces[0]![0], from);
    assert.equal(pieces.at(-1)![1], to);
    for (let i = 0; i < pieces.length; i++) {
      assert.ok(pieces[i]![1]! - pieces[i]![0]! <= 14 * 86_400_000, 'piece longer than 14 days');
      if (i > 0) assert.equal(pieces[i]![0], pieces[i - 1]![1], 'pieces are not contiguous');
    }
    assert.equal(pts.length, (to - from) / HH);
    pts.forEach((p, i) => assert.equal(p.fromMs, from + i * HH));
  });

  test('range: a shorter maximum gives more pieces; more than 14 days per call is refused', async () => {
    const { c, f } = client(composedRange, { maxRangeDays: 1 });
    const pts = await c.range(utc('2026-01-01T00:00Z'), utc('2026-01-03T12:00Z'));
    assert.equal(f.urls.length, 3);
    assert.equal(pts.length, 120);
    assert.throws(() => new CarbonIntensityClient({ maxRangeDays: 15 }), RangeError);
  });

  test('range on the recorded fixture: the extra half-hour before `from` is dropped, values kept', async () => {
    const { c } = client(() => ({ body: fixtureText('ci-national-range-2023-03-25T2300Z-2023-03-27T0000Z.json') }));
    const from = utc('2023-03-25T23:00Z');
    const to = utc('2023-03-27T00:00Z');
    const pts = await c.range(from, to);
    assert.equal(pts.length, 50);
    assert.equal(pts[0]!.fromMs, from);
    // compare with the shared CSV the fixture was cut from
    const csv = new Map(
      readFileSync(new URL('../../../../data/carbon-intensity/gb_national_ci_forecast_actual_2023-01_to_2023-09.csv', import.meta.url), 'utf8')
        .split(/\r?\n/)
        .slice(1)
        .map((l) => l.split(','))
        .map((c) => [Date.parse(c[0] as string), [Number(c[2]), c[3] === '' ? null : Number(c[3])]] as const),
    );
    for (const p of pts) assert.deepEqual([p.forecastGPerKwh, p.actualGPerKwh], csv.get(p.fromMs), new Date(p.fromMs).toISOString());
  });
});
