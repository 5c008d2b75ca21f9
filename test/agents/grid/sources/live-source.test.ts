import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CarbonIntensityClient,
  degradedFields,
  ElexonClient,
  guardSource,
  LiveSignalSource,
  type SignalSource,
} from '../../../../agents/grid/sources/index.ts';
import { fakeFetch, fixture, fixtureText, HH, recordingSleep, utc, type FakeReply } from './helpers.ts';

const ciTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 16)}Z`;
const ZERO_ACTUAL_AT = utc('2026-01-15T16:30Z');

type Mid = { startTime: string };

/**
 * Both APIs behind one fake fetch. Like real servers they are not trusted to trim to the asked
 * range: the range answer starts a half-hour early and the market index answers the whole day.
 */
function apis(overrides: { carbon?: (url: URL) => FakeReply | undefined; elexon?: (url: URL) => FakeReply | undefined } = {}) {
  return fakeFetch((url) => {
    if (url.hostname === 'api.carbonintensity.org.uk') {
      const o = overrides.carbon?.(url);
      if (o) return o;
      if (url.pathname.startsWith('/regional/intensity/')) return { body: fixtureText('ci-regional-fw48h-regionid-13-object.json') };
      if (url.pathname.endsWith('/fw48h')) return { body: fixtureText('ci-national-fw48h-2026-01-15T1630Z.json') };
      const [, , a, b] = url.pathname.split('/');
      const data = [];
      for (let t = Date.parse(a!) - HH; t <= Date.parse(b!) + 4 * HH; t += HH) {
        data.push({ from: ciTime(t), to: ciTime(t + HH), intensity: { forecast: 200 + (t % 7), actual: t === ZERO_ACTUAL_AT ? 0 : 190 + (t % 5), index: 'high' } });
      }
      return { body: { data } };
    }
    const o = overrides.elexon?.(url);
    if (o) return o;
    if (url.pathname.includes('/system-prices/2026-01-15')) return { body: fixtureText('elexon-system-prices-2026-01-15.json') };
    if (url.pathname.includes('/system-prices/')) return { body: { data: [] } };
    if (url.pathname.endsWith('/market-index')) return { body: fixtureText('elexon-market-index-2026-01-15.json') };
    return { status: 404, body: 'no route' };
  });
}

function live(f: ReturnType<typeof apis>, extra: { forecastRegionId?: number; carbon?: boolean; elexon?: boolean } = {}) {
  const common = { fetch: f, sleep: recordingSleep(), retry: { maxAttempts: 2 } };
  return new LiveSignalSource({
    ...(extra.carbon === false ? {} : { carbon: new CarbonIntensityClient(common) }),
    ...(extra.elexon === false ? {} : { elexon: new ElexonClient(common) }),
    ...(extra.forecastRegionId ? { forecastRegionId: extra.forecastRegionId } : {}),
  });
}

describe('LiveSignalSource', () => {
  test('merges carbon and prices per half-hour, only for half-hours over at now, and asks for nothing later', async () => {
    const f = apis();
    const now = utc('2026-01-15T17:40Z');
    const pts = await live(f).observed(utc('2026-01-15T16:00Z'), utc('2026-01-15T20:00Z'), now);
    assert.deepEqual(
      pts.map((p) => new Date(p.fromMs).toISOString()),
      ['2026-01-15T16:00:00.000Z', '2026-01-15T16:30:00.000Z', '2026-01-15T17:00:00.000Z'],
    );
    const sp35 = pts[2]!;
    assert.equal(sp35.imbalancePriceGbpPerMwh, 118.5);
    const mid = fixture<{ data: Array<Mid & { settlementPeriod: number; price: number; volume: number }> }>('elexon-market-index-2026-01-15.json').data.filter(
      (r) => r.settlementPeriod === 35,
    );
    const expected = mid.reduce((s, r) => s + r.price * r.volume, 0) / mid.reduce((s, r) => s + r.volume, 0);
    assert.ok(Math.abs(sp35.marketIndexPriceGbpPerMwh! - expected) < 1e-9);
    assert.equal(sp35.carbonActualGPerKwh, 190 + (utc('2026-01-15T17:00Z') % 5));
    assert.equal(pts[1]!.carbonActualGPerKwh, null, 'a zero actual is a placeholder, not a value');
    assert.equal(pts[1]!.carbonForecastGPerKwh, 200 + (ZERO_ACTUAL_AT % 7));

    const ci = f.urls.find((u) => u.hostname === 'api.carbonintensity.org.uk')!;
    assert.equal(ci.pathname, '/intensity/2026-01-15T16:00Z/2026-01-15T17:30Z');
    const midUrl = f.urls.find((u) => u.pathname.endsWith('/market-index'))!;
    assert.equal(midUrl.searchParams.get('to'), '2026-01-15T17:00:00Z');
    assert.deepEqual(f.urls.filter((u) => u.pathname.includes('/system-prices/')).map((u) => u.pathname.split('/').at(-1)), ['2026-01-15']);
  });

  test('a range wholly in the future makes no request and returns nothing', async () => {
    const f = apis();
    const now = utc('2026-01-15T17:40Z');
    assert.deepEqual(await live(f).observed(now, now + 6 * HH, now), []);
    assert.equal(f.urls.length, 0);
  });

  test('published forecast: national fw48h from the current half-hour, at most 96 points', async () => {
    const f = apis();
    const fc = await live(f).publishedForecast!(utc('2026-01-15T16:40Z'));
    assert.equal(f.urls[0]!.pathname, '/intensity/2026-01-15T16:30Z/fw48h');
    assert.equal(fc.length, 96);
    assert.deepEqual(fc.slice(0, 3).map((p) => p.carbonForecastGPerKwh), [231, 244, 229]);
    // National: the series `observed` reports, so the grid agent may use it as its carbon P50.
    assert.equal(live(f).forecastRegionId, undefined);
    assert.equal(guardSource(live(f)).forecastRegionId, undefined);
  });

  test('published forecast: regional (London, 13) when configured', async () => {
    const f = apis();
    const fc = await live(f, { forecastRegionId: 13 }).publishedForecast!(utc('2026-01-15T17:05Z'));
    assert.equal(f.urls[0]!.pathname, '/regional/intensity/2026-01-15T17:00Z/fw48h/regionid/13');
    assert.equal(fc.length, 96);
    assert.equal(fc[0]!.carbonForecastGPerKwh, 252);
    // Said so, and kept through the guard: a region's forecast is not the national series.
    assert.equal(live(f, { forecastRegionId: 13 }).forecastRegionId, 13);
    assert.equal(guardSource(live(f, { forecastRegionId: 13 })).forecastRegionId, 13);
  });

  test('carbon only: prices stay null; prices only: no published forecast', async () => {
    const now = utc('2026-01-15T17:40Z');
    const carbonOnly = await live(apis(), { elexon: false }).observed(utc('2026-01-15T16:00Z'), now, now);
    assert.equal(carbonOnly.length, 3);
    assert.ok(carbonOnly.every((p) => p.imbalancePriceGbpPerMwh === null && p.marketIndexPriceGbpPerMwh === null && p.carbonForecastGPerKwh !== null));
    const pricesOnly = live(apis(), { carbon: false });
    assert.equal(pricesOnly.publishedForecast, undefined);
    assert.ok((await pricesOnly.observed(utc('2026-01-15T16:00Z'), now, now)).every((p) => p.carbonActualGPerKwh === null));
    assert.throws(() => new LiveSignalSource({}), RangeError);
  });

  test('an Elexon outage fails the call with a typed, serialisable failure (via guardSource)', async () => {
    const f = apis({ elexon: () => ({ status: 503, body: 'upstream down' }) });
    const now = utc('2026-01-15T17:40Z');
    const r = await guardSource(live(f)).observed(utc('2026-01-15T16:00Z'), now, now);
    assert.equal(r.ok, false);
    if (r.ok) return;
    assert.equal(r.failure._tag, 'SourceUnavailable');
    assert.match(r.failure.endpoint, /^elexon /);
    assert.match(r.failure.reason, /HTTP 503/);
    assert.deepEqual(JSON.parse(JSON.stringify(r.failure)), r.failure);
    const ev = degradedFields(r.failure);
    assert.match(ev.source, /^elexon \/balancing\//); // system prices or market index, whichever failed first
    assert.match(ev.reason, /^SourceUnavailable: HTTP 503: upstream down \(after 2 attempts\)$/);
  });

  test('a wrong-shape carbon answer comes back as BadResponse with the field path', async () => {
    const f = apis({ carbon: (url) => (url.pathname.endsWith('/fw48h') ? { body: fixtureText('ci-national-fw48h-wrong-shape.json') } : undefined) });
    const r = await guardSource(live(f)).publishedForecast!(utc('2026-01-15T16:40Z'));
    assert.equal(r.ok, false);
    if (r.ok || r.failure._tag !== 'BadResponse') return assert.fail('expected BadResponse');
    assert.equal(r.failure.endpoint, 'carbon-intensity /intensity/{from}/fw48h');
    assert.ok(r.failure.problems.some((p) => p.path === 'data[1].intensity.forecast'));
  });

  test('guardSource passes values through and does not hide bugs', async () => {
    const good: SignalSource = { name: 'x', observed: () => Promise.resolve([]) };
    assert.deepEqual(await guardSource(good).observed(0, 1, 2), { ok: true, value: [] });
    assert.equal(guardSource(good).publishedForecast, undefined);
    const buggy: SignalSource = { name: 'x', observed: () => Promise.reject(new TypeError('undefined is not a function')) };
    await assert.rejects(guardSource(buggy).observed(0, 1, 2), TypeError);
  });
});
