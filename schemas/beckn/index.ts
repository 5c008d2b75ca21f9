/** Beckn 1.1 messages of the CACO flexibility flow, as strict Effect Schemas. */
export * from './primitives.ts';
export * from './context.ts';
export * from './order.ts';
export * from './catalog.ts';
export * from './messages.ts';
export * from './key-directory-file.ts';
