import type { KeyObject } from 'node:crypto';
import { CacoError } from '../errors/errors.ts';
import type { Clock } from '../clock/clock.ts';
import { checkNewKeyFields, ENTRY_FORMAT, KEY_ID, signEntry, verifyEntry, type FieldProblem, type Role, type SignedKeyEntry } from './key-entry.ts';
import type { KeyRegistryStore } from './registry-store.ts';

/** A registry request that cannot be carried out; `field` names what to fix. */
export class KeyRegistryError extends CacoError {
  override readonly _tag = 'KeyRegistryError';
  constructor(readonly field: string, reason: string) {
    super(`${field}: ${reason}`);
  }
}

export type Lookup = { readonly found: true; readonly entry: SignedKeyEntry } | { readonly found: false; readonly reason: string };

/** An entry the registry ignored because it failed verification. */
export interface BadEntry {
  readonly keyId: string;
  readonly reason: string;
}

/**
 * The site's key registry as everyone reads it: every entry is verified against the admin's
 * public key when read, and one that fails is treated as absent and reported.
 */
export class KeyRegistry {
  constructor(
    readonly store: KeyRegistryStore,
    readonly adminPublicKey: KeyObject,
    private readonly onBadEntry: (bad: BadEntry) => void = () => undefined,
  ) {}

  async lookup(keyId: string): Promise<Lookup> {
    if (!KEY_ID.test(keyId)) return { found: false, reason: `key id "${keyId.slice(0, 64)}" is not a valid key id` };
    const raw = await this.store.get(keyId);
    if (raw === undefined) return { found: false, reason: `unknown key "${keyId}": not in the site's key registry` };
    const v = verifyEntry(raw, this.adminPublicKey, keyId);
    if (!v.ok) {
      this.onBadEntry({ keyId, reason: v.reason });
      return { found: false, reason: `unknown key "${keyId}": its registry entry is ignored (${v.reason})` };
    }
    return { found: true, entry: v.entry };
  }

  async list(): Promise<{ entries: SignedKeyEntry[]; bad: BadEntry[] }> {
    const entries: SignedKeyEntry[] = [];
    const bad: BadEntry[] = [];
    for (const { keyId, value } of await this.store.list()) {
      const v = verifyEntry(value, this.adminPublicKey, keyId);
      if (v.ok) entries.push(v.entry);
      else {
        bad.push({ keyId, reason: v.reason });
        this.onBadEntry({ keyId, reason: v.reason });
      }
    }
    return { entries, bad };
  }
}

/**
 * Says whether an entry is one of the site's own keys (its admin key, or a key its own parties
 * sign with) and, if so, what it is, e.g. "the site's admin key".
 */
export type SiteKeyOf = (entry: SignedKeyEntry) => string | undefined;

export interface RevokeOptions {
  /** Revoke even one of the site's own keys (one that has leaked). The site cannot sign with it again. */
  readonly forceSiteKey?: boolean;
}

export interface NewKey {
  readonly keyId: string;
  readonly party: string;
  readonly role: Role;
  readonly publicKey: string;
}

/** What only the holder of the admin key can do: add and revoke entries. */
export class KeyAdmin {
  constructor(
    readonly registry: KeyRegistry,
    private readonly signBytes: (bytes: Buffer) => string,
    private readonly clock: Clock,
    private readonly siteKeyOf: SiteKeyOf = () => undefined,
  ) {}

  /** Register a key. A key id already in use (by a valid entry) is refused. */
  async add(k: NewKey, opts: { replace?: boolean } = {}): Promise<SignedKeyEntry> {
    const problems: FieldProblem[] = checkNewKeyFields(k);
    if (problems.length) throw new KeyRegistryError(problems[0]!.field, problems.map((p) => `${p.field} ${p.reason}`).join('; '));
    const existing = await this.registry.lookup(k.keyId);
    if (existing.found && !opts.replace) {
      throw new KeyRegistryError('keyId', `"${k.keyId}" is already registered (party "${existing.entry.party}", ${existing.entry.status}); choose another key id`);
    }
    const entry = signEntry(
      { format: ENTRY_FORMAT, keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, status: 'active', createdAt: new Date(this.clock.now()).toISOString(), revokedAt: null },
      this.signBytes,
    );
    await this.registry.store.put(k.keyId, entry);
    return entry;
  }

  /**
   * Revoke a key: from now on nothing it signs is accepted. Revoking twice is refused, and so
   * is revoking one of the site's own keys unless `forceSiteKey`: the site will not sign with a
   * revoked key of its own, so its runs and `keys add` would fail from then on.
   */
  async revoke(keyId: string, opts: RevokeOptions = {}): Promise<SignedKeyEntry> {
    const existing = await this.registry.lookup(keyId);
    if (!existing.found) throw new KeyRegistryError('keyId', existing.reason);
    if (existing.entry.status === 'revoked') throw new KeyRegistryError('keyId', `"${keyId}" was already revoked at ${existing.entry.revokedAt}`);
    const siteKey = this.siteKeyOf(existing.entry);
    if (siteKey && !opts.forceSiteKey) {
      throw new KeyRegistryError(
        'keyId',
        `"${keyId}" is ${siteKey}: revoking it stops the site (caco run and caco keys add will not sign with a revoked key of their own); revoke third parties' keys instead, or give --force-site-key if this key has leaked (docs/identity.md, "Revoking the site's own keys")`,
      );
    }
    const { adminSig: _old, ...e } = existing.entry;
    const entry = signEntry({ ...e, status: 'revoked', revokedAt: new Date(this.clock.now()).toISOString() }, this.signBytes);
    await this.registry.store.put(keyId, entry);
    return entry;
  }
}
