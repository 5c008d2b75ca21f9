/** The Beckn protocol library of the coordination agent: pure functions and ports, no servers. */
export * from './signing.ts';
export * from './keys.ts';
export * from './key-directory.ts';
export * from './registry-key-directory.ts';
