import type { DayStatement, OrderStatement } from './settle.ts';

/** Statements as CSV (RFC 4180): one row per settlement period; the totals are in the JSON. */

type Cell = string | number | null;

const ORDER_COLUMNS = [
  ['order_id', 'orderId', 's'],
  ['settlement_date', 'settlementDate', 's'],
  ['settlement_period', 'settlementPeriod', 'i'],
  ['start_utc', 'startUtc', 's'],
  ['end_utc', 'endUtc', 's'],
  ['active_fraction', 'activeFraction', 6],
  ['contracted_kw', 'contractedKw', 3],
  ['baseline_kw', 'baselineKw', 3],
  ['metered_kw', 'meteredKw', 3],
  ['delivered_kw', 'deliveredKw', 3],
  ['contracted_mwh', 'contractedMwh', 6],
  ['delivered_mwh', 'deliveredMwh', 6],
  ['shortfall_mwh', 'shortfallMwh', 6],
  ['price_gbp_per_mwh', 'priceGbpPerMwh', 2],
  ['payment_gbp', 'paymentGbp', 2],
  ['penalty_gbp_per_mwh', 'penaltyGbpPerMwh', 2],
  ['penalty_gbp', 'penaltyGbp', 2],
  ['net_gbp', 'netGbp', 2],
  ['status', 'status', 's'],
] as const;

const DAY_COLUMNS = [
  ['settlement_date', 'settlementDate', 's'],
  ['settlement_period', 'settlementPeriod', 'i'],
  ['start_utc', 'startUtc', 's'],
  ['end_utc', 'endUtc', 's'],
  ['site_import_kwh', 'siteImportKwh', 6],
  ['metered_kw', 'meteredKw', 3],
  ['meter_status', 'meterStatus', 's'],
  ['orders', 'orders', 'i'],
  ['contracted_mwh', 'contractedMwh', 6],
  ['delivered_mwh', 'deliveredMwh', 6],
  ['shortfall_mwh', 'shortfallMwh', 6],
  ['payment_gbp', 'paymentGbp', 2],
  ['penalty_gbp', 'penaltyGbp', 2],
  ['net_gbp', 'netGbp', 2],
  ['status', 'status', 's'],
] as const;

function quote(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

function cell(v: Cell, format: 's' | 'i' | number): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return format === 's' || format === 'i' ? String(v) : (v + 0).toFixed(format);
  return quote(v);
}

function table(rows: ReadonlyArray<object>, columns: ReadonlyArray<readonly [string, string, 's' | 'i' | number]>): string {
  const head = columns.map(([h]) => h).join(',');
  const body = rows.map((r) => columns.map(([, k, f]) => cell((r as Record<string, Cell>)[k] ?? null, f)).join(','));
  return [head, ...body].join('\r\n') + '\r\n';
}

export function toCsv(statement: OrderStatement | DayStatement): string {
  return statement.kind === 'order' ? table(statement.lines, ORDER_COLUMNS) : table(statement.lines, DAY_COLUMNS);
}
