import type { EventStore, QuarantineRecord, QuarantineStore } from './event-store.ts';

/** Quarantine records kept in memory: for a store that has no place of its own for them. */
export class MemoryQuarantineStore implements QuarantineStore {
  private readonly records = new Map<number, QuarantineRecord>();
  private over = 0;

  /**
   * @param limit records kept; past it they are only counted (`unlisted`). A ledger anyone can
   *              append to can hold refusals without end, and these are kept in memory.
   */
  constructor(private readonly limit = 10_000) {}

  async quarantine(r: QuarantineRecord): Promise<void> {
    if (this.records.has(r.position)) return;
    if (this.records.size >= this.limit) this.over++;
    else this.records.set(r.position, r);
  }

  /** Records refused past `limit`: counted, not kept. */
  get unlisted(): number {
    return this.over;
  }

  async quarantined(): Promise<ReadonlyArray<QuarantineRecord>> {
    return [...this.records.values()].sort((a, b) => a.position - b.position);
  }
}

/** The store's own quarantine (SQLite table, JetStream bucket), if it keeps one. */
export function quarantineOf(store: EventStore): QuarantineStore | undefined {
  const q = store as Partial<QuarantineStore>;
  return typeof q.quarantine === 'function' && typeof q.quarantined === 'function' ? (store as EventStore & QuarantineStore) : undefined;
}
