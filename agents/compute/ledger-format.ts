/**
 * How the compute agent writes numbers and times into events: times as ISO 8601 UTC, numbers
 * rounded, so the ledger does not carry float noise and the same run gives the same bytes.
 */
export const iso = (ms: number): string => new Date(ms).toISOString();
export const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;
