import { settlementPeriodOf } from '../core/time/index.ts';
import { optionalColumn, readCsv, requireColumns } from './csv.ts';
import { isDecimal } from '../core/text/index.ts';
import { DataFileError } from './errors.ts';
import { DATA_FILES } from './paths.ts';
import { PRICE_MEDIAN_ABOVE, PRICE_RANGE } from '../schemas/grid-api/index.ts';
import type { LoadResult } from './types.ts';
import { assertIncreasing, DropLog, quotedCell, requireIsoUtc, type RangeSpec } from './validate.ts';

const HALF_HOUR_MS = 30 * 60 * 1000;

/** One GB settlement period of Elexon prices, £/MWh; null where missing or a placeholder. */
export interface PriceRow {
  fromMs: number;
  settlementDate: string;
  settlementPeriod: number;
  imbalanceGbpPerMwh: number | null;
  marketIndexGbpPerMwh: number | null;
}

/** GB prices have touched about −£100 and +£4,000/MWh; the band leaves room but catches £/kWh or p/kWh files. */
const PRICE = { ...PRICE_RANGE, medianAbove: PRICE_MEDIAN_ABOVE };

/**
 * Loads an Elexon system-price CSV in the shared file's columns. Rules from the data README:
 * rows flagged `both_zero_suspect` (or with both prices exactly 0) are unpublished placeholders
 * and become missing; a market index of exactly 0 beside a non-zero imbalance price is a period
 * with no traded volume, not a price, and becomes missing too. The settlement period must agree
 * with the timestamp in UK local time, which catches files whose stamps are period ends.
 */
export function loadPriceCsv(path: string = DATA_FILES.prices): LoadResult<PriceRow> {
  const table = readCsv(path);
  const col = requireColumns(table, [
    'period_start_utc',
    'settlement_date',
    'settlement_period',
    'imbalance_price_gbp_per_mwh',
    'market_index_price_gbp_per_mwh',
  ]);
  const endIdx = optionalColumn(table, 'period_end_utc');
  const suspectIdx = optionalColumn(table, 'both_zero_suspect');
  const log = new DropLog(path);
  const imbSpec: RangeSpec = { column: 'imbalance_price_gbp_per_mwh', ...PRICE };
  const mipSpec: RangeSpec = { column: 'market_index_price_gbp_per_mwh', ...PRICE };
  const rows: PriceRow[] = [];
  let prevMs: number | null = null;
  let prevLine = 0;
  for (const r of table.records) {
    const fromMs = requireIsoUtc(path, r.line, 'period_start_utc', r.cells[col.period_start_utc]!);
    if (fromMs % HALF_HOUR_MS !== 0) throw new DataFileError(path, r.line, 'period_start_utc', 'not on a half-hour boundary');
    if (endIdx >= 0) {
      const toMs = requireIsoUtc(path, r.line, 'period_end_utc', r.cells[endIdx]!);
      if (toMs - fromMs !== HALF_HOUR_MS) throw new DataFileError(path, r.line, 'period_end_utc', 'period is not 30 minutes long');
    }
    assertIncreasing(path, r.line, 'period_start_utc', prevMs, prevLine, fromMs);
    if (prevMs !== null && fromMs - prevMs > HALF_HOUR_MS) {
      log.drop(r.line, `gap: ${(fromMs - prevMs) / HALF_HOUR_MS - 1} half-hour(s) missing before this row`);
    }
    prevMs = fromMs;
    prevLine = r.line;

    const settlementDate = r.cells[col.settlement_date]!.trim();
    const periodCell = r.cells[col.settlement_period]!;
    if (!isDecimal(periodCell)) throw new DataFileError(path, r.line, 'settlement_period', `${quotedCell(periodCell)} is not a decimal number; expected a settlement period 1..50`);
    const settlementPeriod = Number(periodCell.trim());
    const expected = settlementPeriodOf(fromMs);
    if (settlementDate !== expected.settlementDate || settlementPeriod !== expected.settlementPeriod) {
      throw new DataFileError(
        path,
        r.line,
        'settlement_period',
        `${quotedCell(settlementDate)} period ${quotedCell(r.cells[col.settlement_period] ?? '')} does not match period_start_utc (expected ${expected.settlementDate} period ${expected.settlementPeriod}); are the stamps period ends?`,
      );
    }

    let imbalance = log.value(r.line, r.cells[col.imbalance_price_gbp_per_mwh]!, imbSpec);
    let marketIndex = log.value(r.line, r.cells[col.market_index_price_gbp_per_mwh]!, mipSpec);
    const flagged = suspectIdx >= 0 && r.cells[suspectIdx]!.trim() === '1';
    if (flagged || (imbalance === 0 && marketIndex === 0)) {
      log.drop(r.line, 'both prices 0 (both_zero_suspect placeholder); treated as missing');
      imbalance = null;
      marketIndex = null;
    } else if (marketIndex === 0) {
      log.drop(r.line, 'market_index_price_gbp_per_mwh=0 (no traded volume); treated as missing');
      marketIndex = null;
    }
    rows.push({ fromMs, settlementDate, settlementPeriod, imbalanceGbpPerMwh: imbalance, marketIndexGbpPerMwh: marketIndex });
  }
  log.assertPlausible([imbSpec, mipSpec]);
  return { rows, dropped: log.dropped };
}
