/**
 * Where registry entries are kept. Values come back as stored (parsed JSON, or the raw text
 * when it does not parse): the registry, not the storage, decides what to trust.
 */
export interface KeyRegistryStore {
  get(keyId: string): Promise<unknown>;
  put(keyId: string, entry: unknown): Promise<void>;
  /** Every stored value with the key id it is stored under. */
  list(): Promise<Array<{ keyId: string; value: unknown }>>;
  /**
   * The key ids stored, without their values (one read where the store can; absent: taken
   * from `list()`). What a running site counts as registered before it looks one up.
   */
  keyIds?(): Promise<string[]>;
  close(): Promise<void>;
}

export function parseStored(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** In memory: tests, and runtimes given no registry (every process its own). */
export class MemoryKeyRegistryStore implements KeyRegistryStore {
  private readonly m = new Map<string, string>();

  async get(keyId: string): Promise<unknown> {
    const v = this.m.get(keyId);
    return v === undefined ? undefined : parseStored(v);
  }

  async put(keyId: string, entry: unknown): Promise<void> {
    this.m.set(keyId, JSON.stringify(entry));
  }

  /** Store text as is (tests that tamper with the storage). */
  putRaw(keyId: string, text: string): void {
    this.m.set(keyId, text);
  }

  async keyIds(): Promise<string[]> {
    return [...this.m.keys()];
  }

  async list(): Promise<Array<{ keyId: string; value: unknown }>> {
    return [...this.m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([keyId, v]) => ({ keyId, value: parseStored(v) }));
  }

  async close(): Promise<void> {}
}
