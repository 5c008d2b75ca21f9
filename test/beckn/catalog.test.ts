import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  buildCatalog,
  filterOffers,
  flexItemId,
  fulfillmentIdOf,
  intentFromSearch,
  intentToBeckn,
  itemIdOf,
  kwToMeasure,
  matchesIntent,
  measureToKw,
  offerFromPublished,
  offersFromCatalog,
  orderIntentFromOrder,
  parseSettlementPeriods,
  quoteFor,
  settlementPeriodsOf,
  formatSettlementPeriods,
  type FlexibilityAvailable,
} from '../../beckn/index.ts';
import { decodeBecknBody, type OnSearchRequest, type SearchRequest } from '../../schemas/beckn/index.ts';
import { cacoRegistry, type DataOf, type OfferPublished } from '../../schemas/index.ts';
import { LONDON, PROVIDER, sampleOffer } from './flow.ts';
import { FIXTURES, readSpecJson, skipWithoutSpec } from './spec-dir.ts';

const H = 3_600_000;

describe('catalog mapping', () => {
  test('an offer becomes an Item with window, quantities, price and terms as tags', () => {
    const o = sampleOffer();
    const cat = buildCatalog([o], PROVIDER);
    const p = cat.providers[0]!;
    const item = p.items[0]!;
    assert.equal(item.id, 'flex-20260115-sp35-38');
    assert.deepEqual(item.quantity, { available: { measure: { unit: 'MW', value: '2.0' } }, minimum: { measure: { unit: 'MW', value: '0.5' } } });
    assert.deepEqual(item.price, { currency: 'GBP', value: '95.00' });
    assert.deepEqual(item.time, { range: { start: '2026-01-15T17:00:00Z', end: '2026-01-15T19:00:00Z' } });
    const terms = Object.fromEntries(item.tags![0]!.list.map((t) => [t.descriptor.code, t.value]));
    assert.deepEqual(terms, {
      'price-basis': 'GBP/MWh delivered',
      direction: 'turn-down',
      'min-notice': 'PT15M',
      'max-duration': 'PT2H',
      'settlement-date': '2026-01-15',
      'settlement-periods': '35,36,37,38',
      'baseline-method': 'scheduled-load-profile',
      'penalty-gbp-per-mwh': '120.00',
      'forecast-gco2-per-kwh': '212',
    });
    assert.deepEqual(p.fulfillments![0]!.stops!.map((s) => s.time!.timestamp), ['2026-01-15T17:00:00Z', '2026-01-15T19:00:00Z']);
    assert.equal(p.locations![0]!.city!.code, 'std:020');
  });

  test('reserved capacity shrinks the item; a sold-out item is not listed', () => {
    const o = sampleOffer();
    const left = buildCatalog([o], PROVIDER, { availableKw: () => 700 });
    assert.equal(left.providers[0]!.items[0]!.quantity.available!.measure!.value, '0.7');
    assert.equal(buildCatalog([o], PROVIDER, { availableKw: () => 499 }).providers[0]!.items.length, 0);
  });

  test('items round-trip through a catalog (property)', () => {
    const halfHours = fc.integer({ min: 0, max: 24 * 365 * 4 });
    fc.assert(
      fc.property(halfHours, fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 20_000 }), fc.integer({ min: 0, max: 100_000 }), fc.integer({ min: 0, max: 240 }), (start, len, kw, pricePence, notice) => {
        const t0 = Date.parse('2023-01-01T00:00:00Z') + start * 1_800_000;
        const o: FlexibilityAvailable = sampleOffer({ windowStartMs: t0, windowEndMs: t0 + len * 1_800_000, kw, minKw: Math.max(1, Math.floor(kw / 4)), priceGbpPerMwh: pricePence / 100, noticeMin: notice, penaltyGbpPerMwh: 0 });
        const [back] = offersFromCatalog(buildCatalog([o], PROVIDER));
        assert.ok(back);
        assert.equal(back.itemId, itemIdOf(o));
        assert.equal(back.windowStartMs, o.windowStartMs);
        assert.equal(back.windowEndMs, o.windowEndMs);
        assert.equal(back.kw, o.kw);
        assert.equal(back.minKw, o.minKw);
        assert.equal(back.priceGbpPerMwh, o.priceGbpPerMwh);
        assert.equal(back.noticeMin, o.noticeMin);
        assert.deepEqual(back.location, LONDON);
      }),
      { numRuns: 200 },
    );
  });

  test('an item whose penalty or forecast tag is not a plain decimal is skipped, not read as 16 or 0', () => {
    const o = sampleOffer({ penaltyGbpPerMwh: 12.5, forecastGco2PerKwh: 180 });
    const withTerm = (code: string, value: string) => {
      const c = buildCatalog([o], PROVIDER);
      const tag = c.providers[0]!.items[0]!.tags!.flatMap((g) => g.list).find((t) => t.descriptor.code === code);
      assert.ok(tag, code);
      return { ...c, providers: [{ ...c.providers[0]!, items: [{ ...c.providers[0]!.items[0]!, tags: c.providers[0]!.items[0]!.tags!.map((g) => ({ ...g, list: g.list.map((t) => (t.descriptor.code === code ? { ...t, value } : t)) })) }] }] };
    };
    const [back] = offersFromCatalog(buildCatalog([o], PROVIDER));
    assert.equal(back?.penaltyGbpPerMwh, 12.5);
    assert.equal(back?.forecastGco2PerKwh, 180);
    for (const code of ['penalty-gbp-per-mwh', 'forecast-gco2-per-kwh']) {
      for (const value of ['0x10', '', ' ', '1e999', 'Infinity', '12,5']) assert.deepEqual(offersFromCatalog(withTerm(code, value)), [], `${code} ${JSON.stringify(value)}`);
      assert.equal(offersFromCatalog(withTerm(code, '7.25')).length, 1);
    }
  });

  test('item ids name the settlement date and periods, also across midnight and clock changes', () => {
    assert.equal(flexItemId(Date.parse('2026-01-15T17:00:00Z'), Date.parse('2026-01-15T19:00:00Z')), 'flex-20260115-sp35-38');
    // 2023-03-26 has 46 periods: 01:00 GMT is 02:00 BST, so 03:00 BST (02:00Z) starts period 5.
    assert.equal(flexItemId(Date.parse('2023-03-26T00:00:00Z'), Date.parse('2023-03-26T03:00:00Z')), 'flex-20230326-sp01-06');
    assert.equal(flexItemId(Date.parse('2023-03-26T22:00:00Z'), Date.parse('2023-03-26T23:00:00Z')), 'flex-20230326-sp45-46');
    // 2023-10-29 has 50 periods.
    assert.equal(flexItemId(Date.parse('2023-10-29T23:00:00Z'), Date.parse('2023-10-30T00:00:00Z')), 'flex-20231029-sp49-50');
    assert.equal(flexItemId(Date.parse('2023-10-28T22:30:00Z'), Date.parse('2023-10-29T00:00:00Z')), 'flex-20231028-sp48-20231029-sp02');
    const across = settlementPeriodsOf(Date.parse('2023-10-28T22:30:00Z'), Date.parse('2023-10-29T02:00:00Z'));
    assert.equal(across.length, 7);
    const f = formatSettlementPeriods(across);
    assert.deepEqual(parseSettlementPeriods(f.date, f.periods), across);
  });

  test('a registered flex.offer.published becomes a catalog item', () => {
    const data = {
      offerId: 'flex-20260115-sp35-38',
      planId: 'plan-7',
      windowStart: '2026-01-15T17:00:00Z',
      windowEnd: '2026-01-15T19:00:00Z',
      settlementDate: '2026-01-15',
      firstSettlementPeriod: 35,
      lastSettlementPeriod: 38,
      availableKw: 2000,
      minKw: 500,
      priceGbpPerMwh: 95,
      penaltyGbpPerMwh: 120,
      noticeMin: 15,
      baselineMethod: 'scheduled-load-profile',
      baselineKw: 11_500,
      location: 'site-lon-01',
      validUntil: '2026-01-15T16:45:00Z',
    };
    const d = cacoRegistry().decode('flex.offer.published', 1, data);
    assert.ok(d.ok, JSON.stringify(d.ok ? '' : d.problems));
    const o = offerFromPublished(d.value as DataOf<typeof OfferPublished>, LONDON);
    const item = buildCatalog([o], PROVIDER).providers[0]!.items[0]!;
    assert.equal(item.id, data.offerId);
    assert.equal(item.quantity.available!.measure!.value, '2.0');
    assert.equal(item.time!.range!.end, '2026-01-15T19:00:00Z');
  });

  test('kW and MW on the wire', () => {
    assert.deepEqual(kwToMeasure(1500), { unit: 'MW', value: '1.5' });
    assert.deepEqual(kwToMeasure(2000), { unit: 'MW', value: '2.0' });
    assert.deepEqual(kwToMeasure(1234.5), { unit: 'MW', value: '1.2345' });
    assert.equal(measureToKw({ unit: 'MW', value: '0.5' }), 500);
    assert.equal(measureToKw({ unit: 'kW', value: '750' }), 750);
    assert.throws(() => kwToMeasure(-1), RangeError);
  });

  test('a quote is MW x hours x price', () => {
    const q = quoteFor(sampleOffer(), 1500);
    assert.equal(q.price.value, '285.00');
    assert.equal(q.breakup![0]!.title, '1.5 MW x 2 h x 95.00 GBP/MWh');
    assert.equal(quoteFor(sampleOffer({ windowEndMs: Date.parse('2026-01-15T17:30:00Z') }), 1000).price.value, '47.50');
  });

  test('invalid offers are refused', () => {
    assert.throws(() => buildCatalog([sampleOffer({ minKw: 3000 })], PROVIDER), /minKw/);
    assert.throws(() => buildCatalog([sampleOffer({ windowEndMs: Date.parse('2026-01-15T17:00:00Z') })], PROVIDER), /window/);
  });
});

describe('on_search intent filtering', () => {
  const base = sampleOffer();
  const offers = [
    base,
    sampleOffer({ windowStartMs: base.windowStartMs + 3 * H, windowEndMs: base.windowEndMs + 3 * H }),
    sampleOffer({ kw: 800, minKw: 200, windowStartMs: base.windowStartMs - H, windowEndMs: base.windowStartMs + H }),
    sampleOffer({ location: { ...LONDON, id: 'site-man-01', name: 'Manchester', cityCode: 'std:0161', gspGroup: '_G', dno: 'ENWL' } }),
  ];

  test('by window overlap, minimum kW and location', () => {
    const intent = { windowStartMs: base.windowStartMs, windowEndMs: base.windowEndMs, minKw: 1000, location: { cityCode: 'std:020', gspGroup: '_C' } };
    assert.deepEqual(filterOffers(offers, intent), [offers[0]]);
    assert.deepEqual(filterOffers(offers, { ...intent, minKw: 500 }), [offers[0], offers[2]]);
    assert.deepEqual(filterOffers(offers, { ...intent, location: { gspGroup: '_G' } }), [offers[3]]);
    assert.deepEqual(filterOffers(offers, {}), offers);
    assert.deepEqual(filterOffers(offers, { minKw: 1000 }, () => 900), []);
    assert.equal(matchesIntent(base, { direction: 'turn-up' }), false);
    assert.equal(matchesIntent(base, { categoryCode: 'ev-charging' }), false);
  });

  test('a window that only touches the edge does not match', () => {
    assert.equal(matchesIntent(base, { windowStartMs: base.windowEndMs, windowEndMs: base.windowEndMs + H }), false);
    assert.equal(matchesIntent(base, { windowStartMs: base.windowEndMs - 1, windowEndMs: base.windowEndMs + H }), true);
  });

  test('intentToBeckn and intentFromSearch agree', () => {
    const want = { windowStartMs: base.windowStartMs, windowEndMs: base.windowEndMs, minKw: 1000, location: { cityCode: 'std:020', countryCode: 'GBR', gspGroup: '_C', dno: 'UKPN', areaCode: 'E14' } };
    const back = intentFromSearch({ context: {}, message: { intent: intentToBeckn(want) } });
    assert.deepEqual(back, { ...want, categoryCode: 'demand-flexibility', direction: 'turn-down' });
  });

  test('the search fixture asks for at least 1 MW 17:00-19:00 in gsp group _C of London', { skip: skipWithoutSpec }, () => {
    const d = decodeBecknBody('search', readSpecJson<SearchRequest>(`${FIXTURES}/search.json`));
    assert.ok(d.ok);
    const intent = intentFromSearch(d.value);
    assert.deepEqual(intent, {
      windowStartMs: Date.parse('2026-01-15T17:00:00Z'),
      windowEndMs: Date.parse('2026-01-15T19:00:00Z'),
      minKw: 1000,
      categoryCode: 'demand-flexibility',
      direction: 'turn-down',
      location: { cityCode: 'std:020', countryCode: 'GBR', gspGroup: '_C' },
    });
    assert.deepEqual(filterOffers(offers, intent), [offers[0]]);
  });

  test('the on_search fixture reads back as one 2 MW offer at £95/MWh', { skip: skipWithoutSpec }, () => {
    const d = decodeBecknBody('on_search', readSpecJson<OnSearchRequest>(`${FIXTURES}/on_search.json`));
    assert.ok(d.ok);
    const [o, ...rest] = offersFromCatalog(d.value.message.catalog);
    assert.equal(rest.length, 0);
    assert.ok(o);
    assert.equal(o.itemId, 'flex-20260115-sp35-38');
    assert.equal(o.availableKw, 2000);
    assert.equal(o.minKw, 500);
    assert.equal(o.priceGbpPerMwh, 95);
    assert.equal(o.noticeMin, 15);
    assert.equal(o.windowEndMs - o.windowStartMs, 2 * H);
    assert.equal(o.fulfillmentId, 'ful-window-1');
  });
});

describe('order intent', () => {
  const o = sampleOffer();
  const itemId = itemIdOf(o);
  const order = (kw: number, id = itemId, extra: object = {}) => ({
    provider: { id: PROVIDER.id },
    items: [{ id, quantity: { selected: { measure: kwToMeasure(kw) } } }] as const,
    ...extra,
  });
  const lookup = (available: number) => (id: string) => (id === itemId ? { offer: o, availableKw: available } : undefined);

  test('a valid order names the item, the kW and the window', () => {
    const r = orderIntentFromOrder(order(1500), PROVIDER.id, lookup(2000));
    assert.ok(r.ok);
    assert.deepEqual({ ...r.intent, offer: undefined }, { providerId: PROVIDER.id, itemId, kw: 1500, fulfillmentId: fulfillmentIdOf(itemId), offer: undefined });
  });

  test('unknown item → 30004, too much → 40002, below the minimum → 40002, other provider → 30001, wrong window → 30008', () => {
    const cases: Array<[ReturnType<typeof orderIntentFromOrder>, string, string]> = [
      [orderIntentFromOrder(order(1500, 'flex-nope'), PROVIDER.id, lookup(2000)), '30004', 'message.order.items[0].id'],
      [orderIntentFromOrder(order(1500), PROVIDER.id, lookup(1000)), '40002', 'message.order.items[0].quantity.selected.measure.value'],
      [orderIntentFromOrder(order(100), PROVIDER.id, lookup(2000)), '40002', 'message.order.items[0].quantity.selected.measure.value'],
      [orderIntentFromOrder({ ...order(1500), provider: { id: 'someone-else' } }, PROVIDER.id, lookup(2000)), '30001', 'message.order.provider.id'],
      [orderIntentFromOrder(order(1500, itemId, { fulfillments: [{ id: 'ful-other' }] }), PROVIDER.id, lookup(2000)), '30008', 'message.order.fulfillments[0].id'],
    ];
    for (const [r, code, path] of cases) {
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.equal(r.fault.code, code);
        assert.equal(r.fault.path, path);
      }
    }
  });

  test('selling never exceeds what is available (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 4000 }), fc.integer({ min: 0, max: 4000 }), (want, available) => {
        const r = orderIntentFromOrder(order(want), PROVIDER.id, lookup(available));
        if (r.ok) {
          assert.ok(r.intent.kw <= available && r.intent.kw >= o.minKw);
        } else {
          assert.ok(want > available || want < o.minKw);
        }
      }),
    );
  });
});
