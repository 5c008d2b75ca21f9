import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { BadResponseError, ElexonClient, type ElexonClientOptions } from '../../../../agents/grid/sources/index.ts';
import { fakeFetch, fixture, fixtureText, HH, recordingSleep, utc, type FakeReply } from './helpers.ts';

type Sp = Record<string, unknown> & { settlementPeriod: number; startTime: string; settlementDate: string };
type Mid = Record<string, unknown> & { startTime: string; dataProvider: string; price: number; volume: number; settlementPeriod: number };

function client(handler: (url: URL) => FakeReply, opts: ElexonClientOptions = {}) {
  const f = fakeFetch(handler);
  return { c: new ElexonClient({ fetch: f, sleep: recordingSleep(), ...opts }), f };
}

const iso = (ms: number) => new Date(ms).toISOString();

async function badResponse(p: Promise<unknown>): Promise<BadResponseError> {
  const e = await p.then(
    () => assert.fail('expected a rejection'),
    (x: unknown) => x,
  );
  assert.ok(e instanceof BadResponseError, `expected BadResponseError, got ${String(e).slice(0, 200)}`);
  return e;
}

describe('ElexonClient system prices (DISEBSP)', () => {
  test('a GMT day: 48 periods keyed to UTC starts; SP35 is 17:00Z', async () => {
    const { c, f } = client(() => ({ body: fixtureText('elexon-system-prices-2026-01-15.json') }));
    const pts = await c.systemPrices('2026-01-15');
    assert.equal(f.urls[0]?.href, 'https://data.elexon.co.uk/bmrs/api/v1/balancing/settlement/system-prices/2026-01-15');
    assert.equal(pts.length, 48);
    const sp35 = pts.find((p) => p.settlementPeriod === 35);
    assert.equal(iso(sp35!.fromMs), '2026-01-15T17:00:00.000Z');
    assert.equal(sp35!.imbalancePriceGbpPerMwh, 118.5);
    assert.equal(pts.find((p) => p.settlementPeriod === 36)!.imbalancePriceGbpPerMwh, 96);
  });

  test('the spring clock change (recorded prices): 46-period day, SP1 at 00:00Z, unpublished periods absent', async () => {
    const { c } = client(() => ({ body: fixtureText('elexon-system-prices-2023-03-26.json') }));
    const pts = await c.systemPrices('2023-03-26');
    assert.equal(pts.length, 44);
    assert.equal(iso(pts[0]!.fromMs), '2023-03-26T00:00:00.000Z');
    // SP3 starts at 01:00Z = 02:00 BST: the hour 01:00–02:00 local does not exist that day
    assert.equal(iso(pts[2]!.fromMs), '2023-03-26T01:00:00.000Z');
    assert.equal(iso(pts[43]!.fromMs), '2023-03-26T21:30:00.000Z');
    const csv = readFileSync(new URL('../../../../data/prices/elexon_system_prices_2023-01-01_to_2023-09-30.csv', import.meta.url), 'utf8')
      .split(/\r?\n/)
      .filter((l) => l.includes(',2023-03-26,'))
      .map((l) => l.split(','));
    for (const p of pts) {
      const row = csv.find((r) => Number(r[3]) === p.settlementPeriod);
      assert.equal(p.imbalancePriceGbpPerMwh, Number(row![4]));
      assert.equal(p.fromMs, Date.parse(row![0] as string));
    }
  });

  test('the autumn clock change: 50 periods, SP1 at 23:00Z the day before, SP50 at 23:30Z', async () => {
    const { c } = client(() => ({ body: fixtureText('elexon-system-prices-2026-10-25.json') }));
    const pts = await c.systemPrices('2026-10-25');
    assert.equal(pts.length, 50);
    assert.equal(iso(pts[0]!.fromMs), '2026-10-24T23:00:00.000Z');
    assert.equal(iso(pts[49]!.fromMs), '2026-10-25T23:30:00.000Z');
    for (let i = 1; i < 50; i++) assert.equal(pts[i]!.fromMs - pts[i - 1]!.fromMs, HH);
  });

  test('startTime in the OpenAPI example style (+00:00, seven decimals) is read', async () => {
    const body = fixture<{ data: Sp[] }>('elexon-system-prices-2026-01-15.json');
    body.data[0]!.startTime = '2026-01-15T00:00:00.0000000+00:00';
    const pts = await client(() => ({ body })).c.systemPrices('2026-01-15');
    assert.equal(iso(pts[0]!.fromMs), '2026-01-15T00:00:00.000Z');
  });

  test('a period that does not match its startTime is a BadResponse at that startTime', async () => {
    const body = fixture<{ data: Sp[] }>('elexon-system-prices-2026-01-15.json');
    body.data[10]!.startTime = '2026-01-15T06:00:00Z'; // SP11 starts 05:00Z
    const e = await badResponse(client(() => ({ body })).c.systemPrices('2026-01-15'));
    assert.deepEqual(e.problems.map((p) => p.path), ['data[10].startTime']);
    assert.match(e.message, /elexon \/balancing\/settlement\/system-prices\/\{settlementDate\}/);
  });

  test('period 49 on a 48-period day is a BadResponse; so is a row for another day', async () => {
    const body = fixture<{ data: Sp[] }>('elexon-system-prices-2026-01-15.json');
    body.data[47]!.settlementPeriod = 49;
    body.data[3]!.settlementDate = '2026-01-14';
    const e = await badResponse(client(() => ({ body })).c.systemPrices('2026-01-15'));
    assert.deepEqual(e.problems.map((p) => p.path).sort(), ['data[3].settlementDate', 'data[47].settlementPeriod']);
  });

  test('schema errors name the field: missing price, wrong type, period out of 1..50', async () => {
    const body = fixture<{ data: Sp[] }>('elexon-system-prices-2026-01-15.json');
    delete body.data[0]!.systemSellPrice;
    body.data[1]!.netImbalanceVolume = '12.5';
    body.data[2]!.settlementPeriod = 0;
    const e = await badResponse(client(() => ({ body })).c.systemPrices('2026-01-15'));
    assert.deepEqual(e.problems.map((p) => p.path).sort(), ['data[0].systemSellPrice', 'data[1].netImbalanceVolume', 'data[2].settlementPeriod']);
  });

  test('fields the OpenAPI does not list are tolerated', async () => {
    const body = fixture<{ data: Sp[] }>('elexon-system-prices-2026-01-15.json');
    body.data[0]!.someNewField = 'x';
    (body as Record<string, unknown>).links = {};
    assert.equal((await client(() => ({ body })).c.systemPrices('2026-01-15')).length, 48);
  });

  test('between: one call per London settlement day, filtered to the range', async () => {
    const { c, f } = client((url) => {
      const date = url.pathname.split('/').at(-1);
      return { body: date === '2026-01-15' ? fixtureText('elexon-system-prices-2026-01-15.json') : { data: [] } };
    });
    const pts = await c.systemPricesBetween(utc('2026-01-14T23:00Z'), utc('2026-01-15T02:00Z'));
    assert.deepEqual(f.urls.map((u) => u.pathname.split('/').at(-1)).sort(), ['2026-01-14', '2026-01-15']);
    assert.deepEqual(pts.map((p) => p.settlementPeriod), [1, 2, 3, 4]);
  });
});

describe('ElexonClient market index (MID)', () => {
  test('volume-weighted over providers; a zero-volume provider does not drag the price', async () => {
    const { c, f } = client(() => ({ body: fixtureText('elexon-market-index-2026-01-15.json') }));
    const pts = await c.marketIndex(utc('2026-01-15T00:00Z'), utc('2026-01-16T00:00Z'));
    const q = f.urls[0]!;
    assert.equal(q.pathname, '/bmrs/api/v1/balancing/pricing/market-index');
    assert.equal(q.searchParams.get('from'), '2026-01-15T00:00:00Z');
    assert.equal(q.searchParams.get('to'), '2026-01-15T23:30:00Z');
    assert.equal(pts.length, 48);
    const raw = fixture<{ data: Mid[] }>('elexon-market-index-2026-01-15.json').data;
    for (const p of pts) {
      const rows = raw.filter((r) => r.settlementPeriod === p.settlementPeriod && r.volume > 0);
      const v = rows.reduce((s, r) => s + r.volume, 0);
      const expected = rows.reduce((s, r) => s + r.price * r.volume, 0) / v;
      assert.ok(Math.abs(p.priceGbpPerMwh! - expected) < 1e-9, `SP${p.settlementPeriod}`);
      assert.equal(p.volumeMwh, v);
    }
    // SP1: APX reports 0 at volume 0, so the price is N2EX's alone
    const sp1 = raw.find((r) => r.settlementPeriod === 1 && r.dataProvider === 'N2EXMIDP')!;
    assert.equal(pts[0]!.priceGbpPerMwh, sp1.price);
    // SP35: both trade, and the blend lies strictly between them
    const sp35 = pts.find((p) => p.settlementPeriod === 35)!;
    assert.ok(sp35.priceGbpPerMwh! > 104.37 && sp35.priceGbpPerMwh! < 116.37, String(sp35.priceGbpPerMwh));
  });

  test('a period where no provider has volume has no price (null, not 0)', async () => {
    const body = fixture<{ data: Mid[] }>('elexon-market-index-2026-01-15.json');
    for (const r of body.data) if (r.settlementPeriod === 2) r.volume = 0;
    const pts = await client(() => ({ body })).c.marketIndex(utc('2026-01-15T00:00Z'), utc('2026-01-15T02:00Z'));
    assert.equal(pts.find((p) => p.settlementPeriod === 2)!.priceGbpPerMwh, null);
    assert.notEqual(pts.find((p) => p.settlementPeriod === 1)!.priceGbpPerMwh, null);
  });

  test('volumes the schema takes but price × volume overflows give the true weighted mean, not Infinity (a helper\'s review)', async () => {
    const body = fixture<{ data: Mid[] }>('elexon-market-index-2026-01-15.json');
    const sp1 = body.data.filter((r) => r.settlementPeriod === 1);
    assert.ok(sp1.length >= 2, 'two providers trade in SP1');
    sp1[0]!.volume = 1e307;
    sp1[0]!.price = 95;
    sp1[1]!.volume = 1e307;
    sp1[1]!.price = 100;
    for (const r of sp1.slice(2)) r.volume = 0;
    const pts = await client(() => ({ body })).c.marketIndex(utc('2026-01-15T00:00Z'), utc('2026-01-15T02:00Z'));
    assert.equal(pts.find((p) => p.settlementPeriod === 1)!.priceGbpPerMwh, 97.5);
  });

  test('long ranges are split; provider filter is passed as repeated dataProviders', async () => {
    const { c, f } = client(() => ({ body: { data: [], metadata: { datasets: ['MID'] } } }), { maxRangeDays: 7, marketIndexProviders: ['N2EXMIDP', 'APXMIDP'] });
    await c.marketIndex(utc('2026-01-01T00:00Z'), utc('2026-01-11T00:00Z'));
    assert.equal(f.urls.length, 2);
    const spans = f.urls.map((u) => [u.searchParams.get('from'), u.searchParams.get('to')]).sort();
    assert.deepEqual(spans, [
      ['2026-01-01T00:00:00Z', '2026-01-07T23:30:00Z'],
      ['2026-01-08T00:00:00Z', '2026-01-10T23:30:00Z'],
    ]);
    assert.deepEqual(f.urls[0]!.searchParams.getAll('dataProviders'), ['N2EXMIDP', 'APXMIDP']);
  });

  test('the /datasets/MID row shape (with `dataset`, no metadata) decodes too; a negative volume does not', async () => {
    const raw = fixture<{ data: Mid[] }>('elexon-market-index-2026-01-15.json').data.slice(0, 4);
    const pts = await client(() => ({ body: { data: raw.map((r) => ({ dataset: 'MID', ...r })) } })).c.marketIndex(utc('2026-01-15T00:00Z'), utc('2026-01-15T01:00Z'));
    assert.equal(pts.length, 2);
    raw[1]!.volume = -5;
    const e = await badResponse(client(() => ({ body: { data: raw } })).c.marketIndex(utc('2026-01-15T00:00Z'), utc('2026-01-15T01:00Z')));
    assert.deepEqual(e.problems.map((p) => p.path), ['data[1].volume']);
  });
});
