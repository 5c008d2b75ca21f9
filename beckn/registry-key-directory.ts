import type { KeyObject } from 'node:crypto';
import { CacoError } from '../core/errors/index.ts';
import { FifoMap } from '../core/collections/index.ts';
import { readBoundedResponseText } from '../core/http/index.ts';
import { entryUsableAt, type KeyDirectory } from './key-directory.ts';
import { publicKeyFromBase64 } from './keys.ts';

/** The registry could not be asked, or its answer could not be read. */
export class RegistryLookupError extends CacoError {
  override readonly _tag = 'RegistryLookupError';
}

export interface RegistryKeyDirectoryOptions {
  /** Base URL of the registry; the adapter POSTs to `<registryUrl>/lookup`. */
  readonly registryUrl: string;
  /** Extra lookup attributes the network policy asks for (`type`, `domain`, …). */
  readonly lookupAttributes?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  /** How long (by the caller's clock) a found key is reused without asking again. */
  readonly cacheTtlMs?: number;
  /** How long "no such key" is remembered, so unsigned junk cannot make us flood the registry. */
  readonly negativeCacheTtlMs?: number;
  /**
   * Most answers cached (default 10,000), the oldest forgotten first: the ids looked up come
   * from requests' unverified `keyId`s, so without a bound unsigned junk grows the cache for ever.
   */
  readonly maxCachedKeys?: number;
  /**
   * Most lookups of different keys waiting on the registry at once (default 32). Past it a lookup
   * of a key not already being asked for fails at once (`RegistryLookupError`, answered
   * `key-directory-unavailable`): every unsigned request naming a new keyId would otherwise send
   * the registry a request of its own, each held for up to `timeoutMs`.
   */
  readonly maxLookupsInFlight?: number;
  /** Largest registry answer read (default 1 MiB); a longer one is a `RegistryLookupError`. */
  readonly maxAnswerBytes?: number;
  readonly fetch?: typeof globalThis.fetch;
}

interface RegistryKey {
  readonly key: KeyObject;
  readonly url?: string;
  readonly status?: string;
  readonly valid_from?: string;
  readonly valid_until?: string;
}

interface CacheEntry {
  readonly untilMs: number;
  readonly found: RegistryKey | undefined;
}

/**
 * Public keys from a Beckn registry's `lookup` (registry.yaml): POST a `Subscription` with
 * `subscriber_id` and `key_id`, get back the matching subscriptions with `signing_public_key`.
 * A key counts only if its status is SUBSCRIBED (when given) and `nowMs` is inside
 * `valid_from`..`valid_until`.
 */
export class RegistryKeyDirectory implements KeyDirectory {
  /** Bounded (the ids come from requests' unverified keyIds), the oldest answer forgotten first. */
  private cache: FifoMap<string, CacheEntry>;
  private readonly inFlight = new Map<string, Promise<RegistryKey | undefined>>();
  private readonly fetchFn: typeof globalThis.fetch;
  private readonly url: string;

  constructor(private readonly options: RegistryKeyDirectoryOptions) {
    this.fetchFn = options.fetch ?? globalThis.fetch;
    this.cache = new FifoMap(options.maxCachedKeys ?? 10_000);
    this.url = `${options.registryUrl.replace(/\/+$/, '')}/lookup`;
  }

  async lookup(subscriberId: string, uniqueKeyId: string, nowMs: number): Promise<KeyObject | undefined> {
    return (await this.find(subscriberId, uniqueKeyId, nowMs))?.key;
  }

  async registeredUrl(subscriberId: string, uniqueKeyId: string, nowMs: number): Promise<string | undefined> {
    return (await this.find(subscriberId, uniqueKeyId, nowMs))?.url;
  }

  private async find(subscriberId: string, uniqueKeyId: string, nowMs: number): Promise<RegistryKey | undefined> {
    const id = `${subscriberId}\u0000${uniqueKeyId}`;
    const cached = this.cache.get(id);
    let found: RegistryKey | undefined;
    if (cached && nowMs < cached.untilMs) found = cached.found;
    else {
      let pending = this.inFlight.get(id);
      if (!pending) {
        const most = this.options.maxLookupsInFlight ?? 32;
        if (this.inFlight.size >= most) throw new RegistryLookupError(`registry lookup ${this.url}: ${most} lookups already waiting on the registry; not asked`);
        pending = this.ask(subscriberId, uniqueKeyId).finally(() => this.inFlight.delete(id));
        this.inFlight.set(id, pending);
      }
      found = await pending;
      const ttl = found ? (this.options.cacheTtlMs ?? 300_000) : (this.options.negativeCacheTtlMs ?? 30_000);
      this.cache.set(id, { untilMs: nowMs + ttl, found });
    }
    return found && entryUsableAt(found, nowMs) ? found : undefined;
  }

  /** Forget cached answers (e.g. after a key rotation was announced). */
  clear(): void {
    this.cache = new FifoMap(this.cache.capacity);
  }

  private async ask(subscriberId: string, uniqueKeyId: string): Promise<RegistryKey | undefined> {
    const body = JSON.stringify({ ...this.options.lookupAttributes, subscriber_id: subscriberId, key_id: uniqueKeyId });
    let res: Response;
    try {
      res = await this.fetchFn(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
      });
    } catch (e) {
      throw new RegistryLookupError(`registry lookup ${this.url}: ${(e as Error).message}`);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => undefined);
      throw new RegistryLookupError(`registry lookup ${this.url}: HTTP ${res.status}`);
    }
    const most = this.options.maxAnswerBytes ?? 1024 * 1024;
    let json: unknown;
    try {
      const text = await readBoundedResponseText(res, most);
      if (text === undefined) throw new RegistryLookupError(`registry lookup ${this.url}: the answer is longer than ${most} bytes; not read`);
      json = JSON.parse(text);
    } catch (e) {
      if (e instanceof RegistryLookupError) throw e;
      throw new RegistryLookupError(`registry lookup ${this.url}: the answer is not JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(json)) throw new RegistryLookupError(`registry lookup ${this.url}: expected an array of subscriptions`);
    for (const s of json) {
      const entry = readSubscription(s);
      if (entry && entry.subscriberId === subscriberId && entry.keyId === uniqueKeyId) return entry.value;
    }
    return undefined;
  }
}

/** Read one subscription leniently: registries add fields of their own, and some spell the key id differently. */
function readSubscription(s: unknown): { subscriberId: string; keyId: string; value: RegistryKey } | undefined {
  if (typeof s !== 'object' || s === null) return undefined;
  const r = s as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof r[k] === 'string' ? (r[k] as string) : undefined);
  const subscriberId = str('subscriber_id');
  const keyId = str('key_id') ?? str('unique_key_id') ?? str('ukId');
  const pub = str('signing_public_key');
  if (!subscriberId || !keyId || !pub) return undefined;
  let key: KeyObject;
  try {
    key = publicKeyFromBase64(pub);
  } catch {
    return undefined;
  }
  const status = str('status');
  const validFrom = str('valid_from');
  const validUntil = str('valid_until');
  const url = str('url');
  return {
    subscriberId,
    keyId,
    value: {
      key,
      ...(url !== undefined ? { url } : {}),
      ...(status !== undefined ? { status } : {}),
      ...(validFrom !== undefined && !Number.isNaN(Date.parse(validFrom)) ? { valid_from: validFrom } : {}),
      ...(validUntil !== undefined && !Number.isNaN(Date.parse(validUntil)) ? { valid_until: validUntil } : {}),
    },
  };
}
