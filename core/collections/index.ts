export * from './fifo-map.ts';
