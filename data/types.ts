/** A value or row a loader did not pass on as it was, and why. */
export interface Dropped {
  file: string;
  line: number;
  reason: string;
}

export interface LoadResult<R> {
  rows: R[];
  dropped: Dropped[];
}
