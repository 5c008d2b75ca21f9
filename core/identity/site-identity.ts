import type { Clock } from '../clock/clock.ts';
import type { Keyring } from '../ledger/keyring.ts';
import { rawPublicKey } from '../ledger/keyring.ts';
import type { Logger } from '../log/logger.ts';
import { authenticateCommand, signatureHolds, signCommandWith, type AuthResult } from './command-signature.ts';
import { principalOf, type Principal, type Role, type SignedKeyEntry } from './key-entry.ts';
import { KeyAdmin, KeyRegistry, KeyRegistryError, SITE_KEY_CACHE, type BadEntry, type KeyCacheOptions, type KeyStanding } from './key-registry.ts';
import { MemoryKeyRegistryStore, type KeyRegistryStore } from './registry-store.ts';
import { ADMIN_PARTY } from './site-signers.ts';

/** The party whose key signs the registry. */
export { ADMIN_PARTY };

/** What a runtime needs to sign the commands it sends and to check the ones it receives. */
export interface CommandIdentity {
  /** Sign a command as its `source`, a party whose key this process holds. */
  sign<C extends { readonly source: string }>(cmd: C): Promise<Omit<C, 'sig' | 'keyId'> & { keyId: string; sig: string }>;
  authenticate(raw: unknown): Promise<AuthResult>;
  /**
   * Whether authenticating under `keyId` would ask the registry's store, and whether the id is
   * registered (see KeyStanding), from memory: what is admitted before a lookup. Absent: every
   * lookup is taken as one of a known key.
   */
  keyStanding?(keyId: string): KeyStanding;
  /**
   * `keyStanding`, having first read which key ids the registry holds if that is due (after a
   * restart, before the first answer): what the intake admits commands by. Absent: `keyStanding`.
   */
  keyStandingNow?(keyId: string): Promise<KeyStanding>;
  /**
   * Whether `raw` is signed by the key its `keyId` names, as that key was last read (no read of
   * the store; a revocation since is not seen): true, false, or undefined when no key is held
   * for the id. Not authentication: what lets a key's real requests be told from junk under its
   * public id before authenticating them costs a read. Absent: never told.
   */
  signedByHeldKey?(raw: Record<string, unknown>): boolean | undefined;
}

/** The role a site's own party gets when it registers itself. */
export function localRole(party: string): Role {
  return party === ADMIN_PARTY ? 'admin' : party === 'operator' ? 'operator' : 'agent';
}

/**
 * A keyring makes a party's key on its first signature; this makes it without signing anything
 * real. It signs even when the public key is known: that proves the private key is here, so a
 * party whose key file is missing is refused now, at start (FileKeyring), not at its first
 * real signature with the site running.
 */
function localPublicKey(keyring: Keyring, party: string): string {
  keyring.sign(party, new Uint8Array(0));
  return rawPublicKey(keyring.publicKey(party)!).toString('base64');
}

/**
 * A site's identity: its admin key (in the keyring, like every local party's key), the
 * registry the admin signs, and the site's own parties, registered on first use under their
 * own names as key ids. With the in-memory registry and a fresh keyring this is the embedded
 * default: no server and no set-up, keys made on first run.
 */
export class SiteIdentity implements CommandIdentity {
  readonly registry: KeyRegistry;
  readonly admin: KeyAdmin;
  private readonly local = new Map<string, Promise<Principal>>();

  /**
   * @param o.keyCache how long lookups are answered from memory (default SITE_KEY_CACHE: a key
   *                   revoked by another process is refused within 1 s, one added by another
   *                   process is accepted within 5 s; writes through `admin` count at once), and
   *                   how often the registry's key ids are read for `keyStanding`.
   */
  constructor(private readonly o: { readonly store: KeyRegistryStore; readonly keyring: Keyring; readonly clock: Clock; readonly log?: Logger; readonly keyCache?: KeyCacheOptions }) {
    const adminPub = o.keyring.publicKey(ADMIN_PARTY) ?? (localPublicKey(o.keyring, ADMIN_PARTY), o.keyring.publicKey(ADMIN_PARTY)!);
    // At most once per registeredIdsTtlMs (5 s) while the store fails and commands under ids not in memory come.
    const onIdsReadFailed = (err: unknown) =>
      o.log?.warn({ err: err instanceof Error ? err.message : String(err) }, 'key registry: its key ids could not be read; until they are, a key this process has not looked up yet is admitted as an id not in the registry (the shared bucket)');
    this.registry = new KeyRegistry(o.store, adminPub, (bad: BadEntry) => o.log?.warn({ keyId: bad.keyId, reason: bad.reason }, 'key registry entry ignored: admin signature check failed'), { onIdsReadFailed, ...(o.keyCache ?? SITE_KEY_CACHE) });
    this.admin = new KeyAdmin(this.registry, (bytes) => o.keyring.sign(ADMIN_PARTY, bytes), o.clock, (entry) => this.siteKeyOf(entry));
  }

  /**
   * Whether an entry is one of this site's own keys, and which: the admin key, or a key
   * registered under the name of a party whose key this site's keyring holds (its agents,
   * `operator`). A third party's key, even one registered under a local name, is not.
   */
  siteKeyOf(entry: SignedKeyEntry): string | undefined {
    if (entry.keyId === ADMIN_PARTY) return "the site's admin key";
    if (entry.keyId !== entry.party) return undefined;
    const held = this.o.keyring.publicKey(entry.party);
    return held && rawPublicKey(held).toString('base64') === entry.publicKey ? `the key this site's "${entry.party}" signs with` : undefined;
  }

  /** An identity with its registry in memory: tests and runtimes given none. */
  static ephemeral(keyring: Keyring, clock: Clock, log?: Logger): SiteIdentity {
    return new SiteIdentity({ store: new MemoryKeyRegistryStore(), keyring, clock, ...(log ? { log } : {}) });
  }

  /**
   * Make sure a party of this site is registered with the key this process holds for it.
   * Never takes over a key id registered to a key we do not hold, nor revives a revoked one:
   * only an entry that is missing or fails the admin signature is (re)written.
   */
  ensureLocal(party: string, role: Role = localRole(party)): Promise<Principal> {
    let p = this.local.get(party);
    if (!p) {
      p = this.register(party, role);
      this.local.set(party, p);
      p.catch(() => this.local.delete(party));
    }
    return p;
  }

  private async register(party: string, role: Role): Promise<Principal> {
    const publicKey = localPublicKey(this.o.keyring, party);
    const found = await this.registry.lookup(party, { fresh: true });
    if (found.found) {
      if (found.entry.publicKey !== publicKey) throw new KeyRegistryError('keyId', `"${party}" is registered to a key this site does not hold; revoke it or sign with that key`);
      if (found.entry.status === 'revoked') throw new KeyRegistryError('keyId', `"${party}" was revoked at ${found.entry.revokedAt}; this site will not sign with it`);
      return principalOf(found.entry);
    }
    await this.refuseAnotherAdmin();
    return principalOf(await this.admin.add({ keyId: party, party, role, publicKey }, { replace: true }));
  }

  /**
   * Before an entry is (re)written: a registry whose admin entry is there but does not verify
   * under this keyring's admin key is another site's, or this one's opened with another data
   * folder. Every entry there failed this admin's check and was rewritten as missing: `caco
   * keys init` and `add` from a second data folder replaced the live site's admin and a third
   * party's entries, and the site then ignored both (a helper's review). A missing admin entry
   * is still re-registered (docs/identity.md, recovery).
   */
  private async refuseAnotherAdmin(): Promise<void> {
    if ((await this.o.store.get(ADMIN_PARTY)) === undefined) return;
    const admin = await this.registry.lookup(ADMIN_PARTY, { fresh: true });
    if (admin.found && admin.entry.publicKey === localPublicKey(this.o.keyring, ADMIN_PARTY)) return;
    throw new KeyRegistryError(
      '--data-dir',
      `the key registry's admin entry is not signed by this site's admin key (${admin.found ? 'another key' : admin.reason}): it is another site's registry, or this site's opened with another data folder, or the entry was changed; nothing was written. Run this with the site's --data-dir (its keys/private/admin.key), or restore the registry from a backup`,
    );
  }

  /** Register the admin key itself (self-signed, so `caco keys list` shows it). */
  async ensureAdmin(): Promise<Principal> {
    return this.ensureLocal(ADMIN_PARTY, 'admin');
  }

  async sign<C extends { readonly source: string }>(cmd: C): Promise<Omit<C, 'sig' | 'keyId'> & { keyId: string; sig: string }> {
    const p = await this.ensureLocal(cmd.source);
    return signCommandWith(cmd, p.keyId, (bytes) => this.o.keyring.sign(cmd.source, bytes));
  }

  authenticate(raw: unknown): Promise<AuthResult> {
    return authenticateCommand(raw, (keyId) => this.registry.lookup(keyId));
  }

  /** Every key id the registry holds counts as registered, looked up by this process or not, once its ids are read (KeyRegistry.standing). */
  keyStanding(keyId: string): KeyStanding {
    return this.registry.standing(keyId);
  }

  signedByHeldKey(raw: Record<string, unknown>): boolean | undefined {
    const keyId = raw['keyId'];
    const entry = typeof keyId === 'string' ? this.registry.lastReadEntry(keyId) : undefined;
    return entry ? signatureHolds(raw, entry.publicKey) : undefined;
  }

  /** The same, waiting for the registry's ids when they are due (KeyRegistry.standingNow). */
  keyStandingNow(keyId: string): Promise<KeyStanding> {
    return this.registry.standingNow(keyId);
  }

  async close(): Promise<void> {
    await this.o.store.close();
  }
}
