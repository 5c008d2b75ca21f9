import { decimalOrNaN } from '../core/text/index.ts';
import { HALF_HOUR_MS, halfHourFloor, HOUR_MS, settlementPeriodOf, type SettlementPeriodId } from '../core/time/index.ts';
import type { DataOf, OfferPublished } from '../schemas/index.ts';
import type {
  Catalog,
  CatalogItem,
  Category,
  Context,
  Fulfillment,
  Intent,
  Location,
  Provider,
  Quote,
  SelectedItem,
  TagGroup,
} from '../schemas/beckn/index.ts';
import { becknTimestamp, formatIsoDuration, parseIsoDuration } from './context.ts';
import { BecknErrorCode, fault, type BecknFault } from './errors.ts';
import { formatDecimal, formatGbp, kwToMeasure, measureToKw } from './units.ts';

/**
 * Mapping between CACO's flexibility offers and Beckn catalog Items, and from a BAP's order
 * back to what it wants to buy. Pure: no clock, no ids, no state.
 */

export interface FlexLocation {
  /** Beckn location id, e.g. `site-lon-01`. */
  readonly id: string;
  readonly name: string;
  /** Beckn city code, e.g. `std:020` (London). */
  readonly cityCode?: string;
  /** ISO 3166-1 alpha-3, e.g. `GBR`. */
  readonly countryCode?: string;
  readonly gps?: string;
  readonly areaCode?: string;
  /** Distribution network operator, e.g. `UKPN`. */
  readonly dno?: string;
  /** GSP group, e.g. `_C` (London). */
  readonly gspGroup?: string;
}

/** What the compute agent's `flexibility.available` says, in the shape the catalog needs. */
export interface FlexibilityAvailable {
  /** Item id; by default derived from the window (`flex-20260115-sp35-38`). */
  readonly offerId?: string;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  /** Load reduction offered, kW. */
  readonly kw: number;
  /** Smallest reduction sold, kW. */
  readonly minKw: number;
  readonly priceGbpPerMwh: number;
  /** How long before the window the site needs to know. */
  readonly noticeMin: number;
  /** How the reduction is measured, e.g. `scheduled-load-profile` (the plan published with the offer). */
  readonly baselineMethod: string;
  /** Paid by the site per MWh it falls short of the contracted reduction. */
  readonly penaltyGbpPerMwh: number;
  readonly location: FlexLocation;
  readonly forecastGco2PerKwh?: number;
}

/**
 * The catalog form of a registered `flex.offer.published` (v1). The event names the site by a
 * string; the Beckn location details (city, GSP group, gps) come from the site's configuration.
 */
export function offerFromPublished(d: DataOf<typeof OfferPublished>, site: FlexLocation): FlexibilityAvailable {
  return {
    offerId: d.offerId,
    windowStartMs: Date.parse(d.windowStart),
    windowEndMs: Date.parse(d.windowEnd),
    kw: d.availableKw,
    minKw: d.minKw,
    priceGbpPerMwh: d.priceGbpPerMwh,
    noticeMin: d.noticeMin,
    baselineMethod: d.baselineMethod,
    penaltyGbpPerMwh: d.penaltyGbpPerMwh,
    location: site,
  };
}

export const FLEX_CATEGORY: Category = { id: 'cat-demand-flex', descriptor: { code: 'demand-flexibility', name: 'Demand flexibility' } };
export const FLEX_ITEM_CODE = 'load-reduction';
export const FLEX_FULFILLMENT_TYPE = 'LOAD_REDUCTION';
export const TERMS_TAG = 'flex-terms';
export const GRID_TAG = 'grid-connection';
export const DIRECTION = 'turn-down';
export const PRICE_BASIS = 'GBP/MWh delivered';

/** The settlement periods (UK local) a window touches, in order. */
export function settlementPeriodsOf(windowStartMs: number, windowEndMs: number): SettlementPeriodId[] {
  const out: SettlementPeriodId[] = [];
  for (let t = halfHourFloor(windowStartMs); t < windowEndMs; t += HALF_HOUR_MS) out.push(settlementPeriodOf(t));
  return out;
}

const compactDate = (d: string): string => d.replace(/-/g, '');
const pad2 = (n: number): string => String(n).padStart(2, '0');

/** `flex-20260115-sp35-38`, or `flex-20260115-sp47-20260116-sp02` across midnight. */
export function flexItemId(windowStartMs: number, windowEndMs: number): string {
  const first = settlementPeriodOf(windowStartMs);
  const last = settlementPeriodOf(Math.max(windowStartMs, windowEndMs - 1));
  const head = `flex-${compactDate(first.settlementDate)}-sp${pad2(first.settlementPeriod)}`;
  return first.settlementDate === last.settlementDate
    ? `${head}-${pad2(last.settlementPeriod)}`
    : `${head}-${compactDate(last.settlementDate)}-sp${pad2(last.settlementPeriod)}`;
}

export const itemIdOf = (o: FlexibilityAvailable): string => o.offerId ?? flexItemId(o.windowStartMs, o.windowEndMs);
export const fulfillmentIdOf = (itemId: string): string => `ful-${itemId}`;

/** `35,36` on the first date; periods of a later date carry it: `47,48,2026-01-16/1`. */
export function formatSettlementPeriods(periods: ReadonlyArray<SettlementPeriodId>): { date: string; periods: string } {
  const date = periods[0]?.settlementDate ?? '';
  return {
    date,
    periods: periods.map((p) => (p.settlementDate === date ? String(p.settlementPeriod) : `${p.settlementDate}/${p.settlementPeriod}`)).join(','),
  };
}

export function parseSettlementPeriods(date: string, list: string): SettlementPeriodId[] | undefined {
  const out: SettlementPeriodId[] = [];
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(?:(\d{4}-\d{2}-\d{2})\/)?(\d{1,2})$/.exec(raw);
    if (!m) return undefined;
    out.push({ settlementDate: m[1] ?? date, settlementPeriod: Number(m[2]) });
  }
  return out;
}

function validateOffer(o: FlexibilityAvailable): void {
  const bad = (what: string): never => {
    throw new RangeError(`flexibility offer ${o.offerId ?? ''}: ${what}`);
  };
  if (!Number.isFinite(o.windowStartMs) || !Number.isFinite(o.windowEndMs) || o.windowEndMs <= o.windowStartMs) bad('the window must end after it starts');
  if (!(o.kw > 0)) bad('kw must be > 0');
  if (!(o.minKw > 0) || o.minKw > o.kw) bad('minKw must be > 0 and at most kw');
  if (!(o.priceGbpPerMwh >= 0) || !(o.penaltyGbpPerMwh >= 0)) bad('prices must be >= 0');
  if (!(o.noticeMin >= 0)) bad('noticeMin must be >= 0');
}

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

function windowLabel(startMs: number, endMs: number): string {
  const d1 = new Date(startMs).toISOString().slice(0, 10);
  const d2 = new Date(endMs).toISOString().slice(0, 10);
  return d1 === d2 ? `${d1} ${hhmm(startMs)}-${hhmm(endMs)} UTC` : `${d1} ${hhmm(startMs)}-${d2} ${hhmm(endMs)} UTC`;
}

const tag = (code: string, value: string) => ({ descriptor: { code }, value });

export function termsTags(o: FlexibilityAvailable): TagGroup[] {
  const sp = formatSettlementPeriods(settlementPeriodsOf(o.windowStartMs, o.windowEndMs));
  const terms: TagGroup = {
    descriptor: { code: TERMS_TAG, name: 'Flexibility terms' },
    list: [
      tag('price-basis', PRICE_BASIS),
      tag('direction', DIRECTION),
      tag('min-notice', formatIsoDuration(o.noticeMin * 60_000)),
      tag('max-duration', formatIsoDuration(o.windowEndMs - o.windowStartMs)),
      tag('settlement-date', sp.date),
      tag('settlement-periods', sp.periods),
      tag('baseline-method', o.baselineMethod),
      tag('penalty-gbp-per-mwh', formatGbp(o.penaltyGbpPerMwh)),
      ...(o.forecastGco2PerKwh !== undefined ? [tag('forecast-gco2-per-kwh', formatDecimal(o.forecastGco2PerKwh, 1))] : []),
    ],
  };
  const grid = [
    ...(o.location.dno ? [tag('dno', o.location.dno)] : []),
    ...(o.location.gspGroup ? [tag('gsp-group', o.location.gspGroup)] : []),
  ];
  return grid.length ? [terms, { descriptor: { code: GRID_TAG, name: 'Grid connection' }, list: grid }] : [terms];
}

export function becknLocation(l: FlexLocation): Location {
  return {
    id: l.id,
    descriptor: { name: l.name },
    ...(l.gps ? { gps: l.gps } : {}),
    ...(l.areaCode ? { area_code: l.areaCode } : {}),
    ...(l.cityCode ? { city: { code: l.cityCode } } : {}),
    ...(l.countryCode ? { country: { code: l.countryCode } } : {}),
  };
}

export function windowFulfillment(itemId: string, windowStartMs: number, windowEndMs: number): Fulfillment {
  return {
    id: fulfillmentIdOf(itemId),
    type: FLEX_FULFILLMENT_TYPE,
    stops: [
      { type: 'start', time: { timestamp: becknTimestamp(windowStartMs) } },
      { type: 'end', time: { timestamp: becknTimestamp(windowEndMs) } },
    ],
  };
}

/** One offer as a catalog Item, with the fulfillment (window) and location it points at. */
export function offerToCatalogItem(o: FlexibilityAvailable, availableKw: number = o.kw): { item: CatalogItem; fulfillment: Fulfillment; location: Location } {
  validateOffer(o);
  const id = itemIdOf(o);
  const fulfillment = windowFulfillment(id, o.windowStartMs, o.windowEndMs);
  const item: CatalogItem = {
    id,
    descriptor: { code: FLEX_ITEM_CODE, name: `Up to ${kwToMeasure(availableKw).value} MW turn-down, ${windowLabel(o.windowStartMs, o.windowEndMs)}` },
    category_ids: [FLEX_CATEGORY.id],
    location_ids: [o.location.id],
    fulfillment_ids: [fulfillment.id],
    price: { currency: 'GBP', value: formatGbp(o.priceGbpPerMwh) },
    quantity: { available: { measure: kwToMeasure(availableKw) }, minimum: { measure: kwToMeasure(o.minKw) } },
    time: { range: { start: becknTimestamp(o.windowStartMs), end: becknTimestamp(o.windowEndMs) } },
    tags: termsTags(o),
  };
  return { item, fulfillment, location: becknLocation(o.location) };
}

export interface ProviderInfo {
  readonly id: string;
  readonly name: string;
}

/**
 * The on_search catalog of one provider (the site). `availableKw` gives what is left of an
 * item after confirmed orders; items with less than their minimum left are not listed.
 */
export function buildCatalog(
  offers: ReadonlyArray<FlexibilityAvailable>,
  provider: ProviderInfo,
  options: { readonly availableKw?: (itemId: string) => number; readonly catalogName?: string } = {},
): Catalog {
  const items: CatalogItem[] = [];
  const fulfillments: Fulfillment[] = [];
  const locations = new Map<string, Location>();
  for (const o of offers) {
    validateOffer(o);
    const left = options.availableKw ? Math.min(o.kw, options.availableKw(itemIdOf(o))) : o.kw;
    if (!(left >= o.minKw)) continue;
    const { item, fulfillment, location } = offerToCatalogItem(o, left);
    items.push(item);
    fulfillments.push(fulfillment);
    if (location.id !== undefined && !locations.has(location.id)) locations.set(location.id, location);
  }
  const p: Provider = {
    id: provider.id,
    descriptor: { name: provider.name },
    categories: [FLEX_CATEGORY],
    locations: [...locations.values()],
    fulfillments,
    items,
  };
  return { descriptor: { name: options.catalogName ?? 'CACO flexibility catalogue' }, providers: [p] };
}

/** What a BAP is looking for, read from a search intent (and its context's location). */
export interface FlexIntent {
  readonly windowStartMs?: number;
  readonly windowEndMs?: number;
  readonly minKw?: number;
  readonly categoryCode?: string;
  readonly direction?: string;
  readonly location?: {
    readonly cityCode?: string;
    readonly countryCode?: string;
    readonly areaCode?: string;
    readonly gspGroup?: string;
    readonly dno?: string;
  };
}

function tagValue(groups: ReadonlyArray<TagGroup> | undefined, group: string, code: string): string | undefined {
  for (const g of groups ?? []) {
    if (g.descriptor.code !== group) continue;
    for (const t of g.list) if (t.descriptor.code === code) return t.value;
  }
  return undefined;
}

const GRID_NEED_TAG = 'grid-need';

export function intentFromSearch(search: { readonly context: Pick<Context, 'location'>; readonly message: { readonly intent: Intent } }): FlexIntent {
  const intent = search.message.intent;
  const stops = intent.fulfillment?.stops ?? [];
  const start = stops.find((s) => s.type === 'start');
  const end = stops.find((s) => s.type === 'end');
  let windowStartMs: number | undefined;
  let windowEndMs: number | undefined;
  if (start?.time?.range) {
    windowStartMs = Date.parse(start.time.range.start);
    windowEndMs = Date.parse(start.time.range.end);
  } else {
    if (start?.time?.timestamp) windowStartMs = Date.parse(start.time.timestamp);
    if (end?.time?.timestamp) windowEndMs = Date.parse(end.time.timestamp);
  }
  const min = intent.item?.quantity?.minimum?.measure;
  const providerLoc = intent.provider?.locations?.[0];
  const loc = {
    cityCode: providerLoc?.city?.code ?? search.context.location?.city?.code,
    countryCode: providerLoc?.country?.code ?? search.context.location?.country?.code,
    areaCode: providerLoc?.area_code,
    gspGroup: tagValue(intent.tags, GRID_NEED_TAG, 'gsp-group'),
    dno: tagValue(intent.tags, GRID_NEED_TAG, 'dno'),
  };
  const location = Object.fromEntries(Object.entries(loc).filter(([, v]) => v !== undefined));
  const direction = tagValue(intent.tags, GRID_NEED_TAG, 'direction');
  const categoryCode = intent.category?.descriptor?.code;
  return {
    ...(windowStartMs !== undefined && !Number.isNaN(windowStartMs) ? { windowStartMs } : {}),
    ...(windowEndMs !== undefined && !Number.isNaN(windowEndMs) ? { windowEndMs } : {}),
    ...(min ? { minKw: measureToKw(min) } : {}),
    ...(categoryCode ? { categoryCode } : {}),
    ...(direction ? { direction } : {}),
    ...(Object.keys(location).length ? { location } : {}),
  };
}

/** The Beckn intent for a FlexIntent (what CACO's grid-operator BAP sends). */
export function intentToBeckn(i: FlexIntent): Intent {
  const needs = [
    tag('direction', i.direction ?? DIRECTION),
    ...(i.location?.gspGroup ? [tag('gsp-group', i.location.gspGroup)] : []),
    ...(i.location?.dno ? [tag('dno', i.location.dno)] : []),
  ];
  const loc: Location = {
    ...(i.location?.areaCode ? { area_code: i.location.areaCode } : {}),
    ...(i.location?.cityCode ? { city: { code: i.location.cityCode } } : {}),
    ...(i.location?.countryCode ? { country: { code: i.location.countryCode } } : {}),
  };
  return {
    category: { descriptor: { code: i.categoryCode ?? FLEX_CATEGORY.descriptor!.code! } },
    ...(Object.keys(loc).length ? { provider: { locations: [loc] } } : {}),
    ...(i.minKw !== undefined ? { item: { quantity: { minimum: { measure: kwToMeasure(i.minKw) } } } } : {}),
    ...(i.windowStartMs !== undefined && i.windowEndMs !== undefined
      ? { fulfillment: { stops: [{ type: 'start', time: { range: { start: becknTimestamp(i.windowStartMs), end: becknTimestamp(i.windowEndMs) } } }] } }
      : {}),
    tags: [{ descriptor: { code: GRID_NEED_TAG }, list: needs }],
  };
}

/**
 * Whether an offer answers an intent: same category and direction, a window that overlaps the
 * one asked for (a partial overlap still relieves the stress), at least the minimum kW still
 * available, and every location attribute the intent names equal to the site's.
 */
export function matchesIntent(o: FlexibilityAvailable, intent: FlexIntent, availableKw: number = o.kw): boolean {
  if (intent.categoryCode !== undefined && intent.categoryCode !== FLEX_CATEGORY.descriptor!.code) return false;
  if (intent.direction !== undefined && intent.direction !== DIRECTION) return false;
  if (intent.windowStartMs !== undefined && o.windowEndMs <= intent.windowStartMs) return false;
  if (intent.windowEndMs !== undefined && o.windowStartMs >= intent.windowEndMs) return false;
  if (availableKw < o.minKw) return false;
  if (intent.minKw !== undefined && availableKw < intent.minKw) return false;
  const want = intent.location ?? {};
  const have = o.location;
  if (want.cityCode !== undefined && want.cityCode !== have.cityCode) return false;
  if (want.countryCode !== undefined && want.countryCode !== have.countryCode) return false;
  if (want.areaCode !== undefined && want.areaCode !== have.areaCode) return false;
  if (want.gspGroup !== undefined && want.gspGroup !== have.gspGroup) return false;
  if (want.dno !== undefined && want.dno !== have.dno) return false;
  return true;
}

export function filterOffers<O extends FlexibilityAvailable>(offers: ReadonlyArray<O>, intent: FlexIntent, availableKw?: (itemId: string) => number): O[] {
  return offers.filter((o) => matchesIntent(o, intent, availableKw ? Math.min(o.kw, availableKw(itemIdOf(o))) : o.kw));
}

/** An offer as a BAP reads it back from a catalog. */
export interface CatalogOffer extends FlexibilityAvailable {
  readonly providerId: string;
  readonly itemId: string;
  readonly fulfillmentId?: string;
  readonly availableKw: number;
}

/**
 * Read the flexibility items of a catalog back into offers (the BAP side). Items that are not
 * load reductions in GBP, or lack a window, or state a penalty or forecast that is not a
 * number, are skipped; terms missing from the tags take neutral defaults (no notice, no penalty).
 */
export function offersFromCatalog(catalog: Catalog): CatalogOffer[] {
  const out: CatalogOffer[] = [];
  for (const p of catalog.providers) {
    const locations = new Map((p.locations ?? []).map((l) => [l.id, l] as const));
    const fulfillments = new Map((p.fulfillments ?? []).map((f) => [f.id, f] as const));
    for (const item of p.items) {
      if (item.price.currency !== 'GBP') continue;
      const available = item.quantity.available?.measure;
      if (!available) continue;
      const fid = item.fulfillment_ids?.[0];
      const ful = fid ? fulfillments.get(fid) : undefined;
      const startIso = item.time?.range?.start ?? ful?.stops?.find((s) => s.type === 'start')?.time?.timestamp;
      const endIso = item.time?.range?.end ?? ful?.stops?.find((s) => s.type === 'end')?.time?.timestamp;
      if (!startIso || !endIso) continue;
      const loc = item.location_ids?.[0] !== undefined ? locations.get(item.location_ids[0]) : undefined;
      const t = (code: string) => tagValue(item.tags, TERMS_TAG, code);
      const g = (code: string) => tagValue(item.tags, GRID_TAG, code);
      const notice = t('min-notice');
      const availableKw = measureToKw(available);
      const minimum = item.quantity.minimum?.measure;
      // Terms in tags are free text: a plain decimal only (Number() reads "0x10" as 16 and "" as
      // 0), and an item whose stated terms cannot be read is skipped, not bought on guessed ones.
      const penalty = decimalOrNaN(t('penalty-gbp-per-mwh') ?? '0');
      const forecastText = t('forecast-gco2-per-kwh');
      const forecast = forecastText === undefined ? undefined : decimalOrNaN(forecastText);
      if (!Number.isFinite(penalty) || (forecast !== undefined && !Number.isFinite(forecast))) continue;
      const dno = g('dno');
      const gspGroup = g('gsp-group');
      out.push({
        providerId: p.id,
        itemId: item.id,
        offerId: item.id,
        ...(fid !== undefined ? { fulfillmentId: fid } : {}),
        windowStartMs: Date.parse(startIso),
        windowEndMs: Date.parse(endIso),
        kw: availableKw,
        availableKw,
        minKw: minimum ? measureToKw(minimum) : availableKw,
        priceGbpPerMwh: Number(item.price.value),
        noticeMin: notice !== undefined ? (parseIsoDuration(notice) ?? 0) / 60_000 : 0,
        baselineMethod: t('baseline-method') ?? 'unspecified',
        penaltyGbpPerMwh: penalty,
        ...(forecast !== undefined ? { forecastGco2PerKwh: forecast } : {}),
        location: {
          id: loc?.id ?? item.location_ids?.[0] ?? 'unknown',
          name: loc?.descriptor?.name ?? '',
          ...(loc?.city?.code ? { cityCode: loc.city.code } : {}),
          ...(loc?.country?.code ? { countryCode: loc.country.code } : {}),
          ...(loc?.gps ? { gps: loc.gps } : {}),
          ...(loc?.area_code ? { areaCode: loc.area_code } : {}),
          ...(dno ? { dno } : {}),
          ...(gspGroup ? { gspGroup } : {}),
        },
      });
    }
  }
  return out;
}

/** What a select/init/confirm asks for, once checked against the offers. */
export interface OrderIntent {
  readonly providerId: string;
  readonly itemId: string;
  readonly kw: number;
  readonly fulfillmentId: string;
  readonly offer: FlexibilityAvailable;
}

export interface OfferAvailability {
  readonly offer: FlexibilityAvailable;
  /** kW of the item not yet sold (the agent subtracts confirmed orders). */
  readonly availableKw: number;
}

export type OrderCheck = { readonly ok: true; readonly intent: OrderIntent } | { readonly ok: false; readonly fault: BecknFault };

/**
 * Check an order against this provider's offers: 30001 another provider, 30004 unknown item,
 * 30008 unknown fulfillment, 40002 more kW than available (or less than the minimum).
 * CACO sells one item (one window) per order.
 */
export function orderIntentFromOrder(
  order: { readonly provider: { readonly id: string }; readonly items: ReadonlyArray<SelectedItem>; readonly fulfillments?: ReadonlyArray<{ readonly id?: string | undefined }> },
  providerId: string,
  lookup: (itemId: string) => OfferAvailability | undefined,
): OrderCheck {
  if (order.provider.id !== providerId) {
    return { ok: false, fault: fault(BecknErrorCode.PROVIDER_NOT_FOUND, `this BPP sells for provider "${providerId}"`, 'message.order.provider.id') };
  }
  if (order.items.length !== 1) {
    return { ok: false, fault: fault(BecknErrorCode.INVALID_REQUEST, 'an order holds exactly one flexibility item', 'message.order.items') };
  }
  const item = order.items[0]!;
  const found = lookup(item.id);
  if (!found) return { ok: false, fault: fault(BecknErrorCode.ITEM_NOT_FOUND, `no flexibility item "${item.id}"`, 'message.order.items[0].id') };
  const fid = fulfillmentIdOf(itemIdOf(found.offer));
  const wantedF = order.fulfillments?.[0]?.id ?? item.fulfillment_ids?.[0];
  if (wantedF !== undefined && wantedF !== fid) {
    return { ok: false, fault: fault(BecknErrorCode.FULFILLMENT_UNAVAILABLE, `item "${item.id}" is delivered as fulfillment "${fid}"`, order.fulfillments?.[0] ? 'message.order.fulfillments[0].id' : 'message.order.items[0].fulfillment_ids[0]') };
  }
  const kw = measureToKw(item.quantity.selected.measure);
  const qPath = 'message.order.items[0].quantity.selected.measure.value';
  if (kw > found.availableKw + 1e-9) {
    return { ok: false, fault: fault(BecknErrorCode.ITEM_QUANTITY_UNAVAILABLE, `${formatDecimal(kw, 3)} kW asked, ${formatDecimal(Math.max(0, found.availableKw), 3)} kW available`, qPath) };
  }
  if (kw < found.offer.minKw - 1e-9) {
    return { ok: false, fault: fault(BecknErrorCode.ITEM_QUANTITY_UNAVAILABLE, `${formatDecimal(kw, 3)} kW is below the minimum of ${formatDecimal(found.offer.minKw, 3)} kW`, qPath) };
  }
  return { ok: true, intent: { providerId, itemId: item.id, kw, fulfillmentId: fid, offer: found.offer } };
}

/** Default validity of a quote. */
export const DEFAULT_QUOTE_TTL = 'PT15M';

/** Price of `kw` over the whole window: MW × hours × £/MWh. */
export function quoteFor(o: FlexibilityAvailable, kw: number, ttl: string = DEFAULT_QUOTE_TTL): Quote {
  const hours = (o.windowEndMs - o.windowStartMs) / HOUR_MS;
  const total = formatGbp((kw / 1000) * hours * o.priceGbpPerMwh);
  const itemId = itemIdOf(o);
  return {
    price: { currency: 'GBP', value: total },
    breakup: [
      {
        item: { id: itemId },
        title: `${kwToMeasure(kw).value} MW x ${formatDecimal(hours, 4)} h x ${formatGbp(o.priceGbpPerMwh)} GBP/MWh`,
        price: { currency: 'GBP', value: total },
      },
    ],
    ttl,
  };
}
