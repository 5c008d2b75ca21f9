export { readBoundedText, describeBytes } from './read-bounded.ts';
export { notWritableCode } from './not-writable.ts';
export { writeFileAtomic } from './write-atomic.ts';
