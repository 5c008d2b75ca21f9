/**
 * A persistent string-keyed map for folds: `set` returns a new map and leaves the old one as it
 * was. Keys are spread over a fixed number of buckets, so one `set` copies one bucket and the
 * bucket list instead of every entry; a fold over n events into m keys costs O(n·m/64), not
 * O(n·m). Iteration order is by bucket, not insertion: queries sort what they return.
 */
const BUCKETS = 64;

function bucketOf(key: string): number {
  // FNV-1a: cheap, and good enough to spread ids that share long prefixes.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % BUCKETS;
}

export class BucketMap<V> {
  private constructor(
    private readonly buckets: ReadonlyArray<ReadonlyMap<string, V> | undefined>,
    readonly size: number,
  ) {}

  static empty<V>(): BucketMap<V> {
    return new BucketMap<V>(new Array<undefined>(BUCKETS).fill(undefined), 0);
  }

  get(key: string): V | undefined {
    return this.buckets[bucketOf(key)]?.get(key);
  }

  has(key: string): boolean {
    return this.buckets[bucketOf(key)]?.has(key) ?? false;
  }

  set(key: string, value: V): BucketMap<V> {
    const i = bucketOf(key);
    const old = this.buckets[i];
    const next = new Map(old);
    next.set(key, value);
    const buckets = this.buckets.slice();
    buckets[i] = next;
    return new BucketMap(buckets, this.size + (old?.has(key) ? 0 : 1));
  }

  delete(key: string): BucketMap<V> {
    const i = bucketOf(key);
    const old = this.buckets[i];
    if (!old?.has(key)) return this;
    const next = new Map(old);
    next.delete(key);
    const buckets = this.buckets.slice();
    buckets[i] = next;
    return new BucketMap(buckets, this.size - 1);
  }

  *entries(): IterableIterator<[string, V]> {
    for (const b of this.buckets) if (b) yield* b.entries();
  }

  *values(): IterableIterator<V> {
    for (const b of this.buckets) if (b) yield* b.values();
  }
}
