import { describe } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryKeyring } from '../../core/ledger/keyring.ts';
import { SqliteEventStore } from '../../core/store/sqlite-store.ts';
import { JetStreamEventStore } from '../../core/store/jetstream-store.ts';
import { storeContract, type ContractStore } from './store-contract.ts';
import { natsSkip, natsUrl, uniqueToken } from '../support/nats.ts';

storeContract('SqliteEventStore', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'caco-contract-'));
  const path = join(dir, 'ledger.db');
  const keyring = new MemoryKeyring('contract');
  let current: ContractStore = new SqliteEventStore({ path, keyring, pollMs: 20 });
  return {
    get store() {
      return current;
    },
    keyring,
    async reopen() {
      await current.close();
      current = new SqliteEventStore({ path, keyring, pollMs: 20 });
      return current;
    },
    async dispose() {
      await current.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const skip = await natsSkip();
if (skip) describe('EventStore contract: JetStreamEventStore', { skip }, () => undefined);
else {
  storeContract('JetStreamEventStore', async () => {
    const site = uniqueToken('ct');
    const keyring = new MemoryKeyring('contract');
    const opts = { servers: natsUrl(), site, keyring };
    let current = await JetStreamEventStore.connect(opts);
    return {
      get store() {
        return current;
      },
      keyring,
      async reopen() {
        await current.close();
        current = await JetStreamEventStore.connect(opts);
        return current;
      },
      async dispose() {
        await current.destroy();
        await current.close();
      },
    };
  });
}
