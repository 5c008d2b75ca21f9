import type { KeyObject } from 'node:crypto';
import { CacoError } from '../errors/errors.ts';
import type { Clock } from '../clock/clock.ts';
import { checkNewKeyFields, ENTRY_FORMAT, KEY_ID, signEntry, verifyEntry, type FieldProblem, type Role, type SignedKeyEntry } from './key-entry.ts';
import type { KeyRegistryStore } from './registry-store.ts';
import { reservedPartyReason } from './site-signers.ts';

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
 * How long the registry answers a key id from memory instead of asking its store (a KV round
 * trip on NATS). A found entry, active or revoked, is kept `knownTtlMs`: a revocation written by
 * another process (`caco keys revoke`) is seen by a running site within that time. A key id
 * that is not found is kept `unknownTtlMs`: a key added by another process is accepted within
 * that time. A write through this process's `KeyAdmin` is seen at once.
 */
export interface KeyCacheOptions {
  /** Milliseconds a found entry is answered from memory (0: never). */
  readonly knownTtlMs?: number;
  /** Milliseconds "not in the registry" is answered from memory (0: never). */
  readonly unknownTtlMs?: number;
  /** Key ids remembered at most, of each kind; the oldest answer is forgotten first. */
  readonly maxEntries?: number;
  /**
   * Milliseconds the list of key ids the store holds (read whole, see `standingNow`) is used
   * before it is read again (default `unknownTtlMs`; 0: never read): a key added by another
   * process counts as registered, before it is looked up, within that time.
   */
  readonly registeredIdsTtlMs?: number;
  /** Monotonic milliseconds (default `performance.now`); tests give their own. */
  readonly now?: () => number;
  /** A read of the store's key ids failed (the ids read before are kept; tried again after `registeredIdsTtlMs`). */
  readonly onIdsReadFailed?: (err: unknown) => void;
}

/**
 * What a running site uses (SiteIdentity): a revocation elsewhere counts within 1 s, a new key
 * within 5 s, and the registry's key ids are read again at most every 5 s.
 */
export const SITE_KEY_CACHE = { knownTtlMs: 1000, unknownTtlMs: 5000, maxEntries: 10_000, registeredIdsTtlMs: 5000 } as const;

/**
 * What the registry holds for a key id, and so whether authenticating under it reads the
 * store: `registered`, no (found, active or revoked, and the answer is fresh); `unregistered`,
 * no (not found and the answer is fresh, or not a valid key id at all); `known`, yes, but the
 * id is registered: among the store's key ids when they were last read, or found when last
 * looked up (its answer expired); `unseen`, yes, for an id neither (junk, or a key added since
 * the ids were read).
 */
export type KeyStanding = 'registered' | 'unregistered' | 'known' | 'unseen';

interface Remembered {
  readonly answer: Lookup;
  readonly until: number;
}

/**
 * The site's key registry as everyone reads it: every entry is verified against the admin's
 * public key when read, and one that fails is treated as absent and reported.
 *
 * Answers are kept for the times `cache` gives (default none: every lookup reads the store);
 * concurrent lookups of one key id share one read. `lookup(id, { fresh: true })` always reads.
 * With a cache, the store's key ids (not their entries) are also kept, so that a key id the
 * registry holds counts as registered before this process has looked it up (`standingNow`).
 */
export class KeyRegistry {
  private readonly knownTtlMs: number;
  private readonly unknownTtlMs: number;
  private readonly maxEntries: number;
  private readonly idsTtlMs: number;
  private readonly now: () => number;
  private readonly onIdsReadFailed: (err: unknown) => void;
  /** The store's key ids when last read (as many as the registry holds); undefined until read. */
  private registeredIds: ReadonlySet<string> | undefined;
  /** When the ids were last asked for (read or failed): they are not asked again before `idsTtlMs` after. */
  private idsAskedAt = -Infinity;
  private readingIds: Promise<void> | undefined;
  /** Bumped by `forget()`: a read of the ids begun before it is not kept. */
  private idsGeneration = 0;
  /** Key ids found in the registry (active or revoked), with their entry; kept past their time as "known". */
  private readonly known = new Map<string, Remembered>();
  /** Key ids not found, or whose entry is ignored. */
  private readonly unknown = new Map<string, Remembered>();
  private readonly reading = new Map<string, Promise<Lookup>>();
  /** Bumped by every write this process makes: a read begun before it is not remembered. */
  private epoch = 0;

  constructor(
    readonly store: KeyRegistryStore,
    readonly adminPublicKey: KeyObject,
    private readonly onBadEntry: (bad: BadEntry) => void = () => undefined,
    cache: KeyCacheOptions = {},
  ) {
    this.knownTtlMs = cache.knownTtlMs ?? 0;
    this.unknownTtlMs = cache.unknownTtlMs ?? 0;
    this.maxEntries = cache.maxEntries ?? SITE_KEY_CACHE.maxEntries;
    this.idsTtlMs = cache.registeredIdsTtlMs ?? this.unknownTtlMs;
    this.now = cache.now ?? (() => performance.now());
    this.onIdsReadFailed = cache.onIdsReadFailed ?? (() => undefined);
    if (!(this.knownTtlMs >= 0) || !(this.unknownTtlMs >= 0) || !(this.idsTtlMs >= 0) || !(this.maxEntries >= 1)) throw new Error('key cache: TTLs must be >= 0 and maxEntries >= 1');
  }

  async lookup(keyId: string, opts: { readonly fresh?: boolean } = {}): Promise<Lookup> {
    if (!KEY_ID.test(keyId)) return { found: false, reason: `key id "${keyId.slice(0, 64)}" is not a valid key id` };
    if (!opts.fresh) {
      const held = this.held(keyId);
      if (held) return held;
      const pending = this.reading.get(keyId);
      if (pending) return pending;
    }
    const epoch = this.epoch;
    const read = this.read(keyId).then((answer) => {
      if (epoch === this.epoch) this.remember(keyId, answer);
      return answer;
    });
    if (!opts.fresh) {
      this.reading.set(keyId, read);
      const done = () => {
        if (this.reading.get(keyId) === read) this.reading.delete(keyId);
      };
      read.then(done, done);
    }
    return read;
  }

  /**
   * How `keyId` stands in memory: whether a lookup would read the store, and whether it is
   * registered (found before, or among the store's key ids when last read). For an id that is
   * neither, a read of the store's ids is begun if one is due (see `standingNow`), not waited for.
   */
  standing(keyId: string): KeyStanding {
    const s = this.inMemory(keyId);
    if (s === 'unseen' && this.idsDue()) void this.readIds();
    return s;
  }

  /**
   * `standing`, but an id not in memory at all is first checked against the store's key ids,
   * read if they never were or were read `registeredIdsTtlMs` ago or more (one read for every
   * caller meanwhile; a failed read is reported and not tried again before that time). So a
   * restarted process counts every key the registry holds as registered from its first
   * command, and a key added by another process within `registeredIdsTtlMs`; however many
   * unknown ids are asked about, the ids are read at most once per that time.
   */
  async standingNow(keyId: string): Promise<KeyStanding> {
    const s = this.inMemory(keyId);
    if (s !== 'unseen') return s;
    if (this.readingIds) await this.readingIds;
    else if (this.idsDue()) await this.readIds();
    return this.inMemory(keyId);
  }

  private inMemory(keyId: string): KeyStanding {
    if (!KEY_ID.test(keyId)) return 'unregistered';
    const held = this.held(keyId);
    if (held) return held.found ? 'registered' : 'unregistered';
    return this.known.has(keyId) || this.registeredIds?.has(keyId) ? 'known' : 'unseen';
  }

  private idsDue(): boolean {
    return this.idsTtlMs > 0 && this.now() >= this.idsAskedAt + this.idsTtlMs;
  }

  private readIds(): Promise<void> {
    if (this.readingIds) return this.readingIds;
    this.idsAskedAt = this.now();
    const generation = this.idsGeneration;
    const read = Promise.resolve()
      .then(async () => (this.store.keyIds ? this.store.keyIds() : (await this.store.list()).map((e) => e.keyId)))
      .then(
        (ids) => {
          // Not over a `forget()` made meanwhile; this process's own writes are in `known` already.
          if (generation === this.idsGeneration) this.registeredIds = new Set(ids);
        },
        (err: unknown) => this.onIdsReadFailed(err),
      )
      .finally(() => {
        if (this.readingIds === read) this.readingIds = undefined;
      });
    this.readingIds = read;
    return read;
  }

  /** This process wrote `entry` to the store: answer it from now on, and drop reads begun before. */
  written(entry: SignedKeyEntry): void {
    this.epoch++;
    this.reading.delete(entry.keyId);
    this.remember(entry.keyId, { found: true, entry });
  }

  /** Forget what is held for `keyId` (or for every key id): the next lookup reads the store. */
  forget(keyId?: string): void {
    this.epoch++;
    if (keyId === undefined) {
      this.known.clear();
      this.unknown.clear();
      this.reading.clear();
      this.registeredIds = undefined;
      this.idsAskedAt = -Infinity;
      this.readingIds = undefined;
      this.idsGeneration++;
      return;
    }
    this.known.delete(keyId);
    this.unknown.delete(keyId);
    this.reading.delete(keyId);
  }

  /**
   * The entry last read for `keyId`, even if its time is up (a revocation since is not known
   * from it): the key id's public key, to tell a request signed by it from junk under its id
   * without reading the store. Undefined when nothing was read for it.
   */
  lastReadEntry(keyId: string): SignedKeyEntry | undefined {
    const k = this.known.get(keyId)?.answer;
    return k?.found ? k.entry : undefined;
  }

  private held(keyId: string): Lookup | undefined {
    const now = this.now();
    const k = this.known.get(keyId);
    if (k && now < k.until) return k.answer;
    const u = this.unknown.get(keyId);
    if (u && now < u.until) return u.answer;
    return undefined;
  }

  private remember(keyId: string, answer: Lookup): void {
    const now = this.now();
    this.known.delete(keyId);
    this.unknown.delete(keyId);
    const into = answer.found ? this.known : this.unknown;
    if (into.size >= this.maxEntries) {
      // Map order is insertion order: the first is the oldest answer.
      const oldest = into.keys().next();
      if (!oldest.done) into.delete(oldest.value);
    }
    into.set(keyId, { answer, until: now + (answer.found ? this.knownTtlMs : this.unknownTtlMs) });
  }

  private async read(keyId: string): Promise<Lookup> {
    const raw = await this.store.get(keyId);
    if (raw === undefined) return { found: false, reason: `unknown key "${keyId}": not in the site's key registry; the site's operator registers it with caco keys add (your key id, party and public key)` };
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

  /** Register a key. A key id already in use (by a valid entry) is refused, and so is a public key that has an entry. */
  async add(k: NewKey, opts: { replace?: boolean } = {}): Promise<SignedKeyEntry> {
    const problems: FieldProblem[] = checkNewKeyFields(k);
    const reserved = reservedPartyReason(k.party, k.role);
    if (reserved !== undefined) problems.unshift({ field: 'party', reason: reserved });
    if (problems.length) throw new KeyRegistryError(problems[0]!.field, problems.map((p) => `${p.field} ${p.reason}`).join('; '));
    // Read, not remembered: another process may have added it since.
    const existing = await this.registry.lookup(k.keyId, { fresh: true });
    if (existing.found && !opts.replace) {
      throw new KeyRegistryError('keyId', `"${k.keyId}" is already registered (party "${existing.entry.party}", ${existing.entry.status}); choose another key id`);
    }
    // One public key, one entry, whether or not the entry replaces one of the same id: a key
    // registered twice (a pasted --public-key, say) kept working under its second id, perhaps
    // as another party or an admin, after its first was revoked, and revoke promises that
    // nothing it signs is accepted (a helper's review). Compared as bytes: a 44-character base64
    // key has 2 unused bits, so four spellings are one key to verify() (the review of this check
    // registered one of them as an admin).
    const raw = Buffer.from(k.publicKey, 'base64');
    const twin = (await this.registry.list()).entries.find((e) => e.keyId !== k.keyId && Buffer.from(e.publicKey, 'base64').equals(raw));
    if (twin) {
      throw new KeyRegistryError('publicKey', `this public key is already registered as "${twin.keyId}" (party "${twin.party}", ${twin.role}, ${twin.status}); a key has one entry, so that revoking it stops it: make a new key for another party or role`);
    }
    const entry = signEntry(
      { format: ENTRY_FORMAT, keyId: k.keyId, party: k.party, role: k.role, publicKey: k.publicKey, status: 'active', createdAt: new Date(this.clock.now()).toISOString(), revokedAt: null },
      this.signBytes,
    );
    await this.registry.store.put(k.keyId, entry);
    this.registry.written(entry);
    return entry;
  }

  /**
   * Revoke a key: from now on nothing it signs is accepted. Revoking twice is refused, and so
   * is revoking one of the site's own keys unless `forceSiteKey`: the site will not sign with a
   * revoked key of its own, so its runs and `keys add` would fail from then on.
   */
  async revoke(keyId: string, opts: RevokeOptions = {}): Promise<SignedKeyEntry> {
    const existing = await this.registry.lookup(keyId, { fresh: true });
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
    // Seen at once by this process; by other processes within their cache's knownTtlMs.
    this.registry.written(entry);
    return entry;
  }
}
