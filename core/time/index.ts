export * from './settlement-periods.ts';
