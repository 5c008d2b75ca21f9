import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dir = mkdtempSync(join(tmpdir(), 'caco-data-test-'));
let n = 0;

/** Write `lines` as a CSV file in a fresh temp dir and return its path. */
export function writeCsv(lines: ReadonlyArray<string>, opts: { gzip?: boolean; name?: string } = {}): string {
  const path = join(dir, `${opts.name ?? `t${n++}`}.csv${opts.gzip ? '.gz' : ''}`);
  const text = lines.join('\n') + '\n';
  writeFileSync(path, opts.gzip ? gzipSync(text) : text);
  return path;
}

export const CARBON_HEADER = 'from_utc,to_utc,forecast_gco2_per_kwh,actual_gco2_per_kwh,index';
export const PRICE_HEADER =
  'period_start_utc,period_end_utc,settlement_date,settlement_period,imbalance_price_gbp_per_mwh,market_index_price_gbp_per_mwh,both_zero_suspect';

const HH = 30 * 60 * 1000;
const iso = (ms: number): string => new Date(ms).toISOString().slice(0, 16) + 'Z';

/** Carbon rows starting at `startIso`, one per half-hour, with (forecast, actual) cells. */
export function carbonLines(startIso: string, cells: ReadonlyArray<[string, string]>): string[] {
  const t0 = Date.parse(startIso);
  return cells.map(([f, a], i) => `${iso(t0 + i * HH)},${iso(t0 + (i + 1) * HH)},${f},${a},moderate`);
}
