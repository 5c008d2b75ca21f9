export * from './envelope.ts';
export * from './errors.ts';
export * from './clock/index.ts';
export * from './bus/index.ts';
export * from './store/index.ts';
export * from './ledger/index.ts';
export * from './ids/index.ts';
export * from './time/index.ts';
