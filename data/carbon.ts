import { optionalColumn, readCsv, requireColumns } from './csv.ts';
import { DataFileError } from './errors.ts';
import { DATA_FILES } from './paths.ts';
import { CARBON_INTENSITY_RANGE, CARBON_MEDIAN_ABOVE } from '../schemas/grid-api/index.ts';
import type { LoadResult } from './types.ts';
import { assertIncreasing, DropLog, requireIsoUtc, type RangeSpec } from './validate.ts';

const HALF_HOUR_MS = 30 * 60 * 1000;
const HOUR_MS = 2 * HALF_HOUR_MS;

/** One half-hour of GB national carbon intensity, gCO2/kWh; null where missing or implausible. */
export interface CarbonRow {
  fromMs: number;
  forecastGPerKwh: number | null;
  actualGPerKwh: number | null;
}

export interface HourlyCarbonRow {
  fromMs: number;
  actualGPerKwh: number;
}

/** GB average intensity has never been near 1,500 g/kWh; a value above is another unit or a fault. */
const INTENSITY = { ...CARBON_INTENSITY_RANGE, medianAbove: CARBON_MEDIAN_ABOVE };

/**
 * Loads a half-hourly national carbon-intensity CSV in the shared file's columns
 * (`from_utc`, `actual_gco2_per_kwh`, optional `forecast_gco2_per_kwh`, `to_utc`, `index`).
 * A value of exactly 0 is treated as missing: the README documents five such actuals, and a
 * GB grid at zero average intensity has not happened.
 */
export function loadCarbonCsv(path: string = DATA_FILES.carbonHalfHourly): LoadResult<CarbonRow> {
  const table = readCsv(path);
  const col = requireColumns(table, ['from_utc', 'actual_gco2_per_kwh']);
  const forecastIdx = optionalColumn(table, 'forecast_gco2_per_kwh');
  const toIdx = optionalColumn(table, 'to_utc');
  const log = new DropLog(path);
  const actualSpec: RangeSpec = { column: 'actual_gco2_per_kwh', ...INTENSITY };
  const forecastSpec: RangeSpec = { column: 'forecast_gco2_per_kwh', ...INTENSITY };
  const rows: CarbonRow[] = [];
  let prevMs: number | null = null;
  let prevLine = 0;
  for (const r of table.records) {
    const fromMs = requireIsoUtc(path, r.line, 'from_utc', r.cells[col.from_utc]!);
    if (fromMs % HALF_HOUR_MS !== 0) throw new DataFileError(path, r.line, 'from_utc', 'not on a half-hour boundary');
    if (toIdx >= 0) {
      const toMs = requireIsoUtc(path, r.line, 'to_utc', r.cells[toIdx]!);
      if (toMs - fromMs !== HALF_HOUR_MS) throw new DataFileError(path, r.line, 'to_utc', 'period is not 30 minutes long; is this half-hourly data?');
    }
    assertIncreasing(path, r.line, 'from_utc', prevMs, prevLine, fromMs);
    if (prevMs !== null && fromMs - prevMs > HALF_HOUR_MS) {
      log.drop(r.line, `gap: ${(fromMs - prevMs) / HALF_HOUR_MS - 1} half-hour(s) missing before this row`);
    }
    prevMs = fromMs;
    prevLine = r.line;
    let actual = log.value(r.line, r.cells[col.actual_gco2_per_kwh]!, actualSpec);
    if (actual === 0) {
      log.drop(r.line, 'actual_gco2_per_kwh=0 is not plausible (known bad value); treated as missing');
      actual = null;
    }
    // The forecast column is optional and nothing decides on it (a late revision): an empty
    // cell there is not a lost value, so it is not reported as dropped (a bad one still is).
    let forecast = forecastIdx >= 0 ? log.value(r.line, r.cells[forecastIdx]!, forecastSpec, { reportEmpty: false }) : null;
    if (forecast === 0) {
      log.drop(r.line, 'forecast_gco2_per_kwh=0 is not plausible; treated as missing');
      forecast = null;
    }
    rows.push({ fromMs, forecastGPerKwh: forecast, actualGPerKwh: actual });
  }
  log.assertPlausible([actualSpec, forecastSpec]);
  return { rows, dropped: log.dropped };
}

/** Loads the hourly actual-only history (`hour_start_utc`, `carbon_intensity_gco2_per_kwh`). */
export function loadHourlyCarbonCsv(path: string = DATA_FILES.carbonHourly): LoadResult<HourlyCarbonRow> {
  const table = readCsv(path);
  const col = requireColumns(table, ['hour_start_utc', 'carbon_intensity_gco2_per_kwh']);
  const log = new DropLog(path);
  const spec: RangeSpec = { column: 'carbon_intensity_gco2_per_kwh', ...INTENSITY };
  const rows: HourlyCarbonRow[] = [];
  let prevMs: number | null = null;
  let prevLine = 0;
  for (const r of table.records) {
    const fromMs = requireIsoUtc(path, r.line, 'hour_start_utc', r.cells[col.hour_start_utc]!);
    if (fromMs % HOUR_MS !== 0) throw new DataFileError(path, r.line, 'hour_start_utc', 'not on an hour boundary');
    assertIncreasing(path, r.line, 'hour_start_utc', prevMs, prevLine, fromMs);
    if (prevMs !== null && fromMs - prevMs > HOUR_MS) log.drop(r.line, `gap: ${(fromMs - prevMs) / HOUR_MS - 1} hour(s) missing before this row`);
    prevMs = fromMs;
    prevLine = r.line;
    const v = log.value(r.line, r.cells[col.carbon_intensity_gco2_per_kwh]!, spec);
    if (v === null) continue;
    if (v === 0) {
      log.drop(r.line, 'carbon_intensity_gco2_per_kwh=0 is not plausible; row dropped');
      continue;
    }
    rows.push({ fromMs, actualGPerKwh: v });
  }
  log.assertPlausible([spec]);
  return { rows, dropped: log.dropped };
}
