/** The Beckn protocol library of the coordination agent: pure functions and ports, no servers. */
export * from './signing.ts';
export * from './keys.ts';
export * from './key-directory.ts';
export * from './registry-key-directory.ts';
export * from './errors.ts';
export * from './context.ts';
export * from './units.ts';
export * from './catalog.ts';
export * from './rules.ts';
export * from './builders.ts';
export * from './spec-validator.ts';
export * from './intake-checks.ts';
export * from './nats-binding.ts';
