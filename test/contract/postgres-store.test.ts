// test-file-timeout: 400
/** The EventStore contract suite, run against PostgreSQL (a fresh schema per test, dropped after). */
import { describe } from 'node:test';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { PostgresEventStore } from '../../core/store/postgres-store.ts';
import { storeContract } from './store-contract.ts';
import { postgresSkip, postgresUrl, uniqueSchema } from '../support/postgres.ts';

const skip = await postgresSkip();
if (skip) describe('EventStore contract: PostgresEventStore', { skip }, () => undefined);
else {
  storeContract('PostgresEventStore', async () => {
    const keyring = new MemoryKeyring('contract');
    const opts = { connectionString: postgresUrl(), schema: uniqueSchema('ct'), keyring, pollMs: 50 };
    let current = await PostgresEventStore.open(opts);
    return {
      get store() {
        return current;
      },
      keyring,
      async reopen() {
        await current.close();
        current = await PostgresEventStore.open(opts);
        return current;
      },
      async dispose() {
        await current.destroy().catch(() => undefined);
        await current.close();
      },
    };
  });
}
