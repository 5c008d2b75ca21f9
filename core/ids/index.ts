export { SeededRandom, Uuid7Ids, type IdGenerator } from './ids.ts';
