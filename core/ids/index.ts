export { SeededRandom, Uuid7Ids, derivedUuid7, type IdGenerator } from './ids.ts';
