import type { EventStore, QuarantineRecord, QuarantineStore } from './event-store.ts';

/** Quarantine records kept in memory: for a store that has no place of its own for them. */
export class MemoryQuarantineStore implements QuarantineStore {
  private readonly records = new Map<number, QuarantineRecord>();

  async quarantine(r: QuarantineRecord): Promise<void> {
    if (!this.records.has(r.position)) this.records.set(r.position, r);
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
