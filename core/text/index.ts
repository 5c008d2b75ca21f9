export { decimalOrNaN, isDecimal } from './decimal.ts';
