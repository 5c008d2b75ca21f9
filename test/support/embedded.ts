import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryBus } from '../../core/bus/memory-bus.ts';
import { SqliteEventStore } from '../../core/store/sqlite-store.ts';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { SimulatedClock } from '../../core/clock/simulated-clock.ts';
import { SeededRandom, Uuid7Ids } from '../../core/ids/ids.ts';
import { silentLogger } from '../../core/log/logger.ts';

/** A throwaway embedded stack (in-process bus, SQLite file in a temp dir, seeded ids). */
export function embeddedStack(seed = 'test', startMs = Date.parse('2023-07-03T00:00:00Z')) {
  const dir = mkdtempSync(join(tmpdir(), 'caco-test-'));
  const keyring = new MemoryKeyring(seed);
  const store = new SqliteEventStore({ path: join(dir, 'ledger.db'), keyring, pollMs: 20 });
  const bus = new MemoryBus();
  const clock = new SimulatedClock(startMs);
  const ids = new Uuid7Ids(clock, new SeededRandom(`ids:${seed}`));
  return {
    dir,
    keyring,
    store,
    bus,
    clock,
    ids,
    log: silentLogger(),
    async close() {
      await bus.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
