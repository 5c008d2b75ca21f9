import { periodsInDay, settlementPeriodStartUtc, HALF_HOUR_MS } from '../../../core/time/index.ts';
import { MarketIndexResponse, SystemPricesResponse } from '../../../schemas/grid-api/index.ts';
import { BadResponseError, type ResponseProblem } from './errors.ts';
import { HttpJsonClient, type HttpOptions, type JsonRequest } from './http-json.ts';
import { DAY_MS, mapLimit, parseInstant, rfc3339, settlementDatesCovering, splitRange } from './time-grid.ts';

/** One settlement period's imbalance price (DISEBSP), £/MWh. */
export interface SystemPricePoint {
  readonly fromMs: number;
  readonly settlementDate: string;
  readonly settlementPeriod: number;
  /**
   * `systemSellPrice`. GB has had a single imbalance price since P305 (Nov 2015), so it equals
   * `systemBuyPrice`, which is kept alongside in case it ever does not.
   */
  readonly imbalancePriceGbpPerMwh: number;
  readonly systemBuyPriceGbpPerMwh: number;
}

/** One settlement period's market index price, volume-weighted over the providers that traded. */
export interface MarketIndexPoint {
  readonly fromMs: number;
  readonly settlementDate: string;
  readonly settlementPeriod: number;
  /** `null` when no provider reported volume: a zero-volume price is not a price. */
  readonly priceGbpPerMwh: number | null;
  readonly volumeMwh: number;
}

export interface ElexonClientOptions extends Partial<HttpOptions> {
  /**
   * Longest `from`..`to` span per market-index call. The OpenAPI states no limit; 7 days is a
   * conservative guess, kept configurable.
   */
  readonly maxRangeDays?: number;
  /** `dataProviders` filter for MID (`N2EXMIDP`, `APXMIDP`); both when omitted. */
  readonly marketIndexProviders?: ReadonlyArray<string>;
  readonly concurrency?: number;
}

export const ELEXON_BASE_URL = 'https://data.elexon.co.uk/bmrs/api/v1';
const NAME = 'elexon';

/** Client for Elexon Insights (BMRS) system prices and market index data. See spec §2. */
export class ElexonClient {
  private readonly http: HttpJsonClient;
  private readonly maxRangeMs: number;
  private readonly providers: ReadonlyArray<string>;
  private readonly concurrency: number;

  constructor(opts: ElexonClientOptions = {}) {
    this.http = new HttpJsonClient({ ...opts, baseUrl: opts.baseUrl ?? ELEXON_BASE_URL });
    const days = opts.maxRangeDays ?? 7;
    if (!(days > 0)) throw new RangeError('maxRangeDays must be positive');
    this.maxRangeMs = days * DAY_MS;
    this.providers = opts.marketIndexProviders ?? [];
    this.concurrency = opts.concurrency ?? 3;
  }

  /** All published periods of one settlement day (latest settlement run), sorted by period. */
  async systemPrices(settlementDate: string, signal?: AbortSignal): Promise<SystemPricePoint[]> {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(settlementDate)) throw new RangeError(`settlementDate must be YYYY-MM-DD, got ${settlementDate}`);
    const req: JsonRequest = {
      endpoint: `${NAME} /balancing/settlement/system-prices/{settlementDate}`,
      path: `/balancing/settlement/system-prices/${settlementDate}`,
      signal,
    };
    const body = await this.http.get(req, SystemPricesResponse);
    const problems: ResponseProblem[] = [];
    const byPeriod = new Map<number, { p: SystemPricePoint; created: number }>();
    body.data.forEach((r, i) => {
      if (r.settlementDate !== settlementDate) {
        problems.push({ path: `data[${i}].settlementDate`, reason: `asked for ${settlementDate}, got ${r.settlementDate}` });
        return;
      }
      const fromMs = checkPeriod(r.settlementDate, r.settlementPeriod, r.startTime, `data[${i}]`, problems);
      if (fromMs === null) return;
      const created = r.createdDateTime ? parseInstant(r.createdDateTime) : 0;
      const prev = byPeriod.get(r.settlementPeriod);
      if (prev && prev.created > created) return;
      byPeriod.set(r.settlementPeriod, {
        created,
        p: { fromMs, settlementDate, settlementPeriod: r.settlementPeriod, imbalancePriceGbpPerMwh: r.systemSellPrice, systemBuyPriceGbpPerMwh: r.systemBuyPrice },
      });
    });
    if (problems.length) throw new BadResponseError(req.endpoint, this.http.urlOf(req), problems);
    return [...byPeriod.values()].map((x) => x.p).sort((a, b) => a.fromMs - b.fromMs);
  }

  /** Imbalance prices for periods starting in `[fromMs, toMs)`, one call per settlement day. */
  async systemPricesBetween(fromMs: number, toMs: number, signal?: AbortSignal): Promise<SystemPricePoint[]> {
    const days = await mapLimit(settlementDatesCovering(fromMs, toMs), this.concurrency, (d) => this.systemPrices(d, signal));
    return days.flat().filter((p) => p.fromMs >= fromMs && p.fromMs < toMs);
  }

  /**
   * Market index prices for periods starting in `[fromMs, toMs)`. The endpoint's `from`/`to`
   * filter `startTime` inclusively, so each piece asks for its first to its last period start.
   */
  async marketIndex(fromMs: number, toMs: number, signal?: AbortSignal): Promise<MarketIndexPoint[]> {
    const pieces = splitRange(fromMs, toMs, this.maxRangeMs);
    const results = await mapLimit(pieces, this.concurrency, ([a, b]) => this.marketIndexPiece(a, Math.max(a, b - HALF_HOUR_MS), signal));
    const byStart = new Map<number, MarketIndexPoint>();
    for (const p of results.flat()) if (p.fromMs >= fromMs && p.fromMs < toMs) byStart.set(p.fromMs, p);
    return [...byStart.values()].sort((x, y) => x.fromMs - y.fromMs);
  }

  private async marketIndexPiece(firstStartMs: number, lastStartMs: number, signal: AbortSignal | undefined): Promise<MarketIndexPoint[]> {
    const req: JsonRequest = {
      endpoint: `${NAME} /balancing/pricing/market-index`,
      path: '/balancing/pricing/market-index',
      query: [['from', rfc3339(firstStartMs)], ['to', rfc3339(lastStartMs)], ...this.providers.map((p) => ['dataProviders', p] as const)],
      signal,
    };
    const body = await this.http.get(req, MarketIndexResponse);
    const problems: ResponseProblem[] = [];
    const acc = new Map<number, { date: string; period: number; rows: Array<{ price: number; volume: number }> }>();
    body.data.forEach((r, i) => {
      const fromMs = checkPeriod(r.settlementDate, r.settlementPeriod, r.startTime, `data[${i}]`, problems);
      if (fromMs === null) return;
      const a = acc.get(fromMs) ?? { date: r.settlementDate, period: r.settlementPeriod, rows: [] };
      if (r.volume > 0) a.rows.push({ price: r.price, volume: r.volume });
      acc.set(fromMs, a);
    });
    if (problems.length) throw new BadResponseError(req.endpoint, this.http.urlOf(req), problems);
    return [...acc.entries()]
      .map(([fromMs, a]) => ({ fromMs, settlementDate: a.date, settlementPeriod: a.period, ...weightedMean(a.rows) }))
      .sort((x, y) => x.fromMs - y.fromMs);
  }
}

/**
 * Settlement periods are numbered in local time (46/48/50 a day), `startTime` is UTC. If the two
 * disagree, one of them is wrong and a price would land in the wrong half-hour, so it is an error.
 */
function checkPeriod(date: string, period: number, startTime: string, path: string, problems: ResponseProblem[]): number | null {
  const n = periodsInDay(date);
  if (period > n) {
    problems.push({ path: `${path}.settlementPeriod`, reason: `${date} has ${n} settlement periods, got ${period}` });
    return null;
  }
  const expected = settlementPeriodStartUtc(date, period);
  const got = parseInstant(startTime);
  if (got !== expected) {
    problems.push({ path: `${path}.startTime`, reason: `${date} period ${period} starts at ${new Date(expected).toISOString()}, got ${startTime}` });
    return null;
  }
  return expected;
}

/**
 * The volume-weighted mean price of a period's rows, in volumes relative to the largest: price ×
 * volume summed overflowed to Infinity for rows the schema takes (two providers at 1e307 MWh),
 * and the Infinity stopped the grid agent's ticks. Null when there is no volume, or no finite mean.
 */
function weightedMean(rows: ReadonlyArray<{ readonly price: number; readonly volume: number }>): { priceGbpPerMwh: number | null; volumeMwh: number } {
  const volumeMwh = rows.reduce((s, r) => s + r.volume, 0);
  const top = rows.reduce((m, r) => Math.max(m, r.volume), 0);
  if (!(top > 0)) return { priceGbpPerMwh: null, volumeMwh: 0 };
  let pw = 0;
  let w = 0;
  for (const r of rows) {
    const share = r.volume / top;
    pw += r.price * share;
    w += share;
  }
  const mean = pw / w;
  return { priceGbpPerMwh: Number.isFinite(mean) ? mean : null, volumeMwh: Number.isFinite(volumeMwh) ? volumeMwh : Number.MAX_VALUE };
}
