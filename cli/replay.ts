import type { EventStore } from '../core/store/event-store.ts';

export interface ReplaySummary {
  readonly events: number;
  readonly ms: number;
  readonly byType: Record<string, number>;
}

/** Fold the whole ledger into the read models. */
export async function replayLedger(store: EventStore): Promise<ReplaySummary> {
  const t0 = performance.now();
  const byType: Record<string, number> = {};
  let events = 0;
  for await (const e of store.readAll()) {
    events++;
    byType[e.type] = (byType[e.type] ?? 0) + 1;
  }
  return { events, ms: performance.now() - t0, byType: Object.fromEntries(Object.entries(byType).sort()) };
}
