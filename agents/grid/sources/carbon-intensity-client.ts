import { HALF_HOUR_MS } from '../../../core/time/index.ts';
import { IntensityResponse, RegionalIdResponse, type RegionSeries } from '../../../schemas/grid-api/index.ts';
import { BadResponseError, type ResponseProblem } from './errors.ts';
import { HttpJsonClient, type HttpOptions } from './http-json.ts';
import { ciTime, DAY_MS, mapLimit, parseInstant, splitRange } from './time-grid.ts';

/** National half-hour from the Carbon Intensity API, gCO2/kWh. */
export interface CarbonIntensityPoint {
  readonly fromMs: number;
  readonly forecastGPerKwh: number;
  /** `null` until the half-hour has closed. */
  readonly actualGPerKwh: number | null;
  readonly index: string | null;
}

export interface RegionalForecastPoint {
  readonly fromMs: number;
  readonly forecastGPerKwh: number;
  readonly index: string | null;
  readonly generationMix: ReadonlyArray<{ readonly fuel: string; readonly perc: number }>;
}

export interface RegionalForecast {
  readonly regionId: number;
  readonly shortname: string | null;
  readonly points: RegionalForecastPoint[];
}

export interface CarbonIntensityClientOptions extends Partial<HttpOptions> {
  /** Longest range per `/intensity/{from}/{to}` call; the API allows 14 days. */
  readonly maxRangeDays?: number;
  /** Range calls in flight at once. */
  readonly concurrency?: number;
}

export const CARBON_INTENSITY_BASE_URL = 'https://api.carbonintensity.org.uk';
const NAME = 'carbon-intensity';

/** Client for the GB Carbon Intensity API (NESO), national and regional. See spec §1. */
export class CarbonIntensityClient {
  private readonly http: HttpJsonClient;
  private readonly maxRangeMs: number;
  private readonly concurrency: number;

  constructor(opts: CarbonIntensityClientOptions = {}) {
    this.http = new HttpJsonClient({ ...opts, baseUrl: opts.baseUrl ?? CARBON_INTENSITY_BASE_URL });
    const days = opts.maxRangeDays ?? 14;
    if (!(days > 0 && days <= 14)) throw new RangeError('maxRangeDays must be in (0, 14]: the API serves at most 14 days per call');
    this.maxRangeMs = days * DAY_MS;
    this.concurrency = opts.concurrency ?? 2;
  }

  /** 48 h forward from the half-hour at `fromMs` (about 96 points; closed ones carry an actual). */
  fw48h(fromMs: number, signal?: AbortSignal): Promise<CarbonIntensityPoint[]> {
    return this.national('/intensity/{from}/fw48h', `/intensity/${ciTime(fromMs)}/fw48h`, signal);
  }

  /** 24 h back from `atMs`. */
  pt24h(atMs: number, signal?: AbortSignal): Promise<CarbonIntensityPoint[]> {
    return this.national('/intensity/{from}/pt24h', `/intensity/${ciTime(atMs)}/pt24h`, signal);
  }

  /**
   * Half-hours starting in `[fromMs, toMs)`, in calls of at most 14 days. The API's own range
   * ends are not relied on (it may include the half-hour ending at `from`): each piece is
   * filtered to what was asked and duplicates at the seams are merged.
   */
  async range(fromMs: number, toMs: number, signal?: AbortSignal): Promise<CarbonIntensityPoint[]> {
    const pieces = splitRange(fromMs, toMs, this.maxRangeMs);
    const results = await mapLimit(pieces, this.concurrency, ([a, b]) =>
      this.national('/intensity/{from}/{to}', `/intensity/${ciTime(a)}/${ciTime(b)}`, signal),
    );
    const byStart = new Map<number, CarbonIntensityPoint>();
    for (const p of results.flat()) if (p.fromMs >= fromMs && p.fromMs < toMs) byStart.set(p.fromMs, p);
    return [...byStart.values()].sort((x, y) => x.fromMs - y.fromMs);
  }

  /** Regional forecast (no actuals) 48 h forward, for one region (London is 13). */
  async regionalFw48h(fromMs: number, regionId: number, signal?: AbortSignal): Promise<RegionalForecast> {
    if (!Number.isInteger(regionId) || regionId < 1 || regionId > 17) throw new RangeError(`regionId must be 1..17, got ${regionId}`);
    const endpoint = `${NAME} /regional/intensity/{from}/fw48h/regionid/{regionid}`;
    const req = { endpoint, path: `/regional/intensity/${ciTime(fromMs)}/fw48h/regionid/${regionId}`, signal };
    const body = await this.http.get(req, RegionalIdResponse);
    const url = this.http.urlOf(req);
    const [series, prefix] = pickRegion(body.data, regionId, endpoint, url);
    const problems: ResponseProblem[] = [];
    const points: RegionalForecastPoint[] = [];
    series.data.forEach((r, i) => {
      const fromMs = checkHalfHour(r.from, r.to, `${prefix}.data[${i}]`, problems);
      if (fromMs !== null) {
        points.push({ fromMs, forecastGPerKwh: r.intensity.forecast, index: r.intensity.index, generationMix: (r.generationmix ?? []).map((g) => ({ fuel: g.fuel, perc: g.perc })) });
      }
    });
    if (problems.length) throw new BadResponseError(endpoint, url, problems);
    return { regionId: series.regionid, shortname: series.shortname ?? null, points: points.sort((a, b) => a.fromMs - b.fromMs) };
  }

  private async national(template: string, path: string, signal: AbortSignal | undefined): Promise<CarbonIntensityPoint[]> {
    const req = { endpoint: `${NAME} ${template}`, path, signal };
    const body = await this.http.get(req, IntensityResponse);
    const problems: ResponseProblem[] = [];
    const out: CarbonIntensityPoint[] = [];
    body.data.forEach((r, i) => {
      const fromMs = checkHalfHour(r.from, r.to, `data[${i}]`, problems);
      if (fromMs !== null) out.push({ fromMs, forecastGPerKwh: r.intensity.forecast, actualGPerKwh: r.intensity.actual, index: r.intensity.index });
    });
    if (problems.length) throw new BadResponseError(req.endpoint, this.http.urlOf(req), problems);
    return out.sort((a, b) => a.fromMs - b.fromMs);
  }
}

/** A record must be one half-hour on the half-hour grid; anything else would misplace its value. */
function checkHalfHour(from: string, to: string, path: string, problems: ResponseProblem[]): number | null {
  const fromMs = parseInstant(from);
  const toMs = parseInstant(to);
  if (fromMs % HALF_HOUR_MS !== 0) {
    problems.push({ path: `${path}.from`, reason: `expected a half-hour boundary, got ${from}` });
    return null;
  }
  if (toMs - fromMs !== HALF_HOUR_MS) {
    problems.push({ path: `${path}.to`, reason: `expected 30 minutes after from (${from}), got ${to}` });
    return null;
  }
  return fromMs;
}

/** The outer `data` is documented as a one-element array and seen in the wild as an object. */
function pickRegion(data: RegionalIdResponse['data'], regionId: number, endpoint: string, url: string): [RegionSeries, string] {
  if (!Array.isArray(data)) {
    const one = data as RegionSeries;
    if (one.regionid !== regionId) throw new BadResponseError(endpoint, url, [{ path: 'data.regionid', reason: `expected region ${regionId}, got ${one.regionid}` }]);
    return [one, 'data'];
  }
  const list = data as ReadonlyArray<RegionSeries>;
  const i = list.findIndex((s) => s.regionid === regionId);
  if (i < 0) {
    const got = list.map((s) => s.regionid).join(', ') || 'none';
    throw new BadResponseError(endpoint, url, [{ path: 'data', reason: `expected a series for region ${regionId}, got ${got}` }]);
  }
  return [list[i] as RegionSeries, `data[${i}]`];
}
