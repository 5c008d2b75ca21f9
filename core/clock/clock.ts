/** Time is a port: agents read the time only from a Clock. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
  /** Run `fn` once the clock reaches `atMs`. Returns a cancel function. */
  setTimer(atMs: number, fn: () => void): () => void;
}

export const isoOf = (ms: number): string => new Date(ms).toISOString();
