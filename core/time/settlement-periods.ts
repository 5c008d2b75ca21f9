/**
 * GB settlement periods: half-hours numbered from 1 at local (Europe/London) midnight, so a
 * day has 48 of them, 46 on the spring clock change and 50 in autumn.
 */
export const HALF_HOUR_MS = 30 * 60 * 1000;

const fmt = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

function londonParts(ms: number): Record<string, string> {
  return Object.fromEntries(fmt.formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
}

/** The local (Europe/London) calendar date `YYYY-MM-DD` of a UTC instant. */
export function londonDate(ms: number): string {
  const p = londonParts(ms);
  return `${p['year']}-${p['month']}-${p['day']}`;
}

/** Europe/London's offset from UTC at an instant: 0 (GMT) or 3,600,000 (BST). */
export function londonOffsetMs(ms: number): number {
  const p = londonParts(ms);
  const wall = Date.UTC(Number(p['year']), Number(p['month']) - 1, Number(p['day']), Number(p['hour']), Number(p['minute']));
  return wall - Math.floor(ms / 60_000) * 60_000;
}

/** UTC milliseconds of local midnight starting the given London date. */
export function londonMidnightUtc(date: string): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  // Local midnight is 00:00Z in winter (GMT) or 23:00Z the day before in summer (BST).
  const utcMidnight = Date.UTC(y, m - 1, d);
  return londonDate(utcMidnight - 3_600_000) === date ? utcMidnight - 3_600_000 : utcMidnight;
}

/** Number of settlement periods on a London date: 46, 48 or 50. */
export function periodsInDay(date: string): number {
  const start = londonMidnightUtc(date);
  const next = londonMidnightUtc(nextDate(date));
  return Math.round((next - start) / HALF_HOUR_MS);
}

export function nextDate(date: string): string {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return new Date(Date.UTC(y, m - 1, d + 1)).toISOString().slice(0, 10);
}

export interface SettlementPeriodId {
  readonly settlementDate: string;
  readonly settlementPeriod: number;
}

/** The settlement period containing a UTC instant. */
export function settlementPeriodOf(ms: number): SettlementPeriodId {
  const settlementDate = londonDate(ms);
  const start = londonMidnightUtc(settlementDate);
  return { settlementDate, settlementPeriod: Math.floor((ms - start) / HALF_HOUR_MS) + 1 };
}

/** UTC start of a settlement period; throws RangeError for a period the day does not have. */
export function settlementPeriodStartUtc(settlementDate: string, settlementPeriod: number): number {
  const n = periodsInDay(settlementDate);
  if (!Number.isInteger(settlementPeriod) || settlementPeriod < 1 || settlementPeriod > n) {
    throw new RangeError(`settlementPeriod: ${settlementDate} has periods 1..${n}, got ${settlementPeriod}`);
  }
  return londonMidnightUtc(settlementDate) + (settlementPeriod - 1) * HALF_HOUR_MS;
}

/** Floor a UTC instant to the start of its half-hour. */
export function halfHourFloor(ms: number): number {
  return Math.floor(ms / HALF_HOUR_MS) * HALF_HOUR_MS;
}
