import type { KeyObject } from 'node:crypto';
import { statSync } from 'node:fs';
import { ConfigError } from '../core/errors/index.ts';
import { KeyDirectoryFile, type KeyDirectoryEntry } from '../schemas/beckn/index.ts';
import { decodeWith } from '../schemas/index.ts';
import { publicKeyFromBase64 } from './keys.ts';
import { readBoundedText } from '../core/files/index.ts';

/** A key directory lists subscribers' keys, ~200 bytes each. */
const MAX_KEY_DIRECTORY_BYTES = 16 * 1024 * 1024;

/**
 * Where public keys of other network participants come from. `nowMs` is the caller's Clock
 * time, so a key outside its validity window is not found and tests can move time freely.
 * It may reject (a registry that cannot be reached); that is not the same as "no such key".
 */
export interface KeyDirectory {
  lookup(subscriberId: string, uniqueKeyId: string, nowMs: number): Promise<KeyObject | undefined>;
  /**
   * The callback address registered with that key (the registry's `url`), undefined when none
   * is. A BPP sends signed callbacks only there, so a BAP cannot aim them at someone else.
   */
  registeredUrl(subscriberId: string, uniqueKeyId: string, nowMs: number): Promise<string | undefined>;
}

interface KnownKey {
  readonly key: KeyObject;
  readonly url: string | undefined;
  readonly validFromMs: number;
  readonly validUntilMs: number;
  readonly usable: boolean;
}

/** Whether an entry's status and validity window allow it at `nowMs`. */
export function entryUsableAt(e: { readonly status?: string; readonly valid_from?: string; readonly valid_until?: string }, nowMs: number): boolean {
  if (e.status !== undefined && e.status !== 'SUBSCRIBED') return false;
  if (e.valid_from !== undefined && nowMs < Date.parse(e.valid_from)) return false;
  if (e.valid_until !== undefined && nowMs > Date.parse(e.valid_until)) return false;
  return true;
}

/** Keys held in memory; the file adapter and tests build on it. */
export class StaticKeyDirectory implements KeyDirectory {
  private readonly keys = new Map<string, KnownKey>();

  constructor(entries: Iterable<KeyDirectoryEntry> = []) {
    for (const e of entries) this.add(e);
  }

  add(e: KeyDirectoryEntry): void {
    const id = keyOf(e.subscriber_id, e.key_id);
    if (this.keys.has(id)) throw new ConfigError(`key directory: ${e.subscriber_id}|${e.key_id}`, 'appears twice');
    this.keys.set(id, {
      key: publicKeyFromBase64(e.signing_public_key),
      url: e.url,
      validFromMs: e.valid_from === undefined ? -Infinity : Date.parse(e.valid_from),
      validUntilMs: e.valid_until === undefined ? Infinity : Date.parse(e.valid_until),
      usable: e.status === undefined || e.status === 'SUBSCRIBED',
    });
  }

  async lookup(subscriberId: string, uniqueKeyId: string, nowMs: number): Promise<KeyObject | undefined> {
    return this.usable(subscriberId, uniqueKeyId, nowMs)?.key;
  }

  async registeredUrl(subscriberId: string, uniqueKeyId: string, nowMs: number): Promise<string | undefined> {
    return this.usable(subscriberId, uniqueKeyId, nowMs)?.url;
  }

  private usable(subscriberId: string, uniqueKeyId: string, nowMs: number): KnownKey | undefined {
    const k = this.keys.get(keyOf(subscriberId, uniqueKeyId));
    return !k || !k.usable || nowMs < k.validFromMs || nowMs > k.validUntilMs ? undefined : k;
  }

  get size(): number {
    return this.keys.size;
  }
}

const keyOf = (subscriberId: string, keyId: string): string => `${subscriberId}\u0000${keyId}`;

/** Parse the contents of a key directory file (format `caco-beckn-keys/1`, see docs/beckn.md). */
export function parseKeyDirectoryFile(json: unknown, source = 'key directory file'): StaticKeyDirectory {
  const d = decodeWith(KeyDirectoryFile, json);
  if (!d.ok) throw new ConfigError(source, d.problems.map((p) => `${p.path || '(root)'}: ${p.reason}`).join('; '));
  try {
    return new StaticKeyDirectory(d.value.keys);
  } catch (e) {
    throw new ConfigError(source, (e as Error).message);
  }
}

/**
 * The default adapter: a JSON file, read at start-up and again whenever it changes, so adding
 * (or revoking) a BAP's key needs no restart. A lookup looks at the file's modification time at
 * most once per `checkIntervalMs` of the caller's clock, so a flood of requests with unknown keys
 * cannot make the BPP re-read the file on each. A file that no longer parses leaves the keys
 * read before in force; the error is kept in `lastReloadError`.
 */
export class FileKeyDirectory implements KeyDirectory {
  private current: StaticKeyDirectory;
  private stamp: string;
  private lastCheckMs = -Infinity;
  /** Why the latest change to the file was not taken (undefined when it was, or nothing changed). */
  lastReloadError: string | undefined;

  constructor(
    readonly path: string,
    private readonly options: { readonly checkIntervalMs?: number } = {},
  ) {
    this.stamp = FileKeyDirectory.stampOf(path);
    this.current = FileKeyDirectory.read(path);
  }

  private static stampOf(path: string): string {
    try {
      const st = statSync(path);
      return `${st.ino}:${st.size}:${st.mtimeMs}`;
    } catch {
      return 'missing';
    }
  }

  private static read(path: string): StaticKeyDirectory {
    let json: unknown;
    try {
      json = JSON.parse(readBoundedText(path, MAX_KEY_DIRECTORY_BYTES, (reason) => new ConfigError(`key directory file ${path}`, reason)));
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`key directory file ${path}`, (e as Error).message);
    }
    return parseKeyDirectoryFile(json, `key directory file ${path}`);
  }

  /** Re-read the file; on error the previous keys stay in force and the error is thrown. */
  reload(): void {
    const stamp = FileKeyDirectory.stampOf(this.path);
    this.current = FileKeyDirectory.read(this.path);
    this.stamp = stamp;
    this.lastReloadError = undefined;
  }

  private refresh(nowMs: number): void {
    if (nowMs - this.lastCheckMs < (this.options.checkIntervalMs ?? 1000)) return;
    this.lastCheckMs = nowMs;
    const stamp = FileKeyDirectory.stampOf(this.path);
    if (stamp === this.stamp) return;
    try {
      this.reload();
    } catch (e) {
      // Do not try the same broken version again; the next edit is a new stamp.
      this.stamp = stamp;
      this.lastReloadError = (e as Error).message;
    }
  }

  lookup(subscriberId: string, uniqueKeyId: string, nowMs: number): Promise<KeyObject | undefined> {
    this.refresh(nowMs);
    return this.current.lookup(subscriberId, uniqueKeyId, nowMs);
  }

  registeredUrl(subscriberId: string, uniqueKeyId: string, nowMs: number): Promise<string | undefined> {
    return this.current.registeredUrl(subscriberId, uniqueKeyId, nowMs);
  }
}
