import { MemoryKeyRegistryStore, type KeyRegistryStore } from '../../core/identity/index.ts';

/** A key registry store that counts its reads (and its lists of key ids), and can hold the next read until released (a slow lookup). */
export class CountingRegistryStore implements KeyRegistryStore {
  reads = 0;
  /** Reads of every key id the store holds; `failLists` makes them fail (the store unreachable). */
  lists = 0;
  failLists = false;
  private gate: Promise<void> | undefined;
  private open: (() => void) | undefined;
  constructor(readonly inner: MemoryKeyRegistryStore = new MemoryKeyRegistryStore()) {}
  hold(): void {
    this.gate = new Promise((r) => (this.open = r));
  }
  release(): void {
    this.open?.();
  }
  async get(keyId: string): Promise<unknown> {
    this.reads++;
    const g = this.gate;
    this.gate = undefined;
    const v = await this.inner.get(keyId);
    if (g) await g;
    return v;
  }
  put(keyId: string, entry: unknown): Promise<void> {
    return this.inner.put(keyId, entry);
  }
  async list(): Promise<Array<{ keyId: string; value: unknown }>> {
    this.lists++;
    if (this.failLists) throw new Error('registry unreachable');
    return this.inner.list();
  }
  async close(): Promise<void> {}
}
