export * from './settlement-periods.ts';
export * from './grid.ts';
