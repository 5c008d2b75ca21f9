export { readBoundedText, describeBytes } from './read-bounded.ts';
