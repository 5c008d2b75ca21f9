import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CacoConfig } from '../config/config.ts';
import type { Clock } from '../clock/clock.ts';
import type { Keyring } from '../ledger/keyring.ts';
import type { Logger } from '../log/logger.ts';
import { siteDir } from '../stack/stack.ts';
import { KeyRegistryError } from './key-registry.ts';
import type { KeyRegistryStore } from './registry-store.ts';
import { SiteIdentity } from './site-identity.ts';
import { SqliteKeyRegistryStore } from './sqlite-registry-store.ts';

export interface OpenIdentityOptions {
  readonly config: CacoConfig;
  /** The keyring holding the admin key and the site's parties' keys (the stack's). */
  readonly keyring: Keyring;
  readonly clock: Clock;
  readonly log?: Logger;
  /** Folder of the SQLite registry; default `<dataDir>/<site>/keys`. */
  readonly dir?: string;
  /** Site name in NATS resources, when it differs from the config's (isolated runs). */
  readonly natsSite?: string;
  /** Fail instead of creating an empty registry (commands that only read). */
  readonly mustExist?: boolean;
}

/**
 * The registry follows the ledger: beside a SQLite ledger it is a SQLite table
 * (`keys/registry.db`), beside a JetStream ledger a KV bucket (`caco_<site>_keys`).
 */
export async function openSiteIdentity(o: OpenIdentityOptions): Promise<SiteIdentity> {
  const store = await openRegistryStore(o);
  return new SiteIdentity({ store, keyring: o.keyring, clock: o.clock, ...(o.log ? { log: o.log } : {}) });
}

/** Only the storage, for readers that verify with an admin public key given to them. */
export async function openRegistryStore(o: Omit<OpenIdentityOptions, 'keyring' | 'clock' | 'log'>): Promise<KeyRegistryStore> {
  if (o.config.store === 'jetstream') {
    const [{ connectNats }, { KvKeyRegistryStore }] = await Promise.all([import('../bus/nats-bus.ts'), import('./kv-registry-store.ts')]);
    const nc = await connectNats({ servers: o.config.natsUrl, name: `caco-keys-${o.config.site}`, ...(o.config.natsCreds ? { credentials: o.config.natsCreds } : {}) });
    try {
      return await KvKeyRegistryStore.open(nc, o.natsSite ?? o.config.site, { ownsConnection: true, create: !o.mustExist, replicas: o.config.replicas });
    } catch (err) {
      await nc.close();
      throw o.mustExist ? new KeyRegistryError('--site', err instanceof Error ? err.message : String(err)) : err;
    }
  }
  const path = join(o.dir ?? join(siteDir(o.config), 'keys'), 'registry.db');
  if (o.mustExist && !existsSync(path)) throw new KeyRegistryError('--data-dir', `no key registry at ${path}; run \`caco run\` (or \`caco keys init\`) for this site first`);
  // A reader only reads: the file (perhaps another site's) is opened read-only.
  return new SqliteKeyRegistryStore(path, o.mustExist ? { readOnly: true } : {});
}
