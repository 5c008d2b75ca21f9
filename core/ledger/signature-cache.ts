import { FifoMap } from '../collections/fifo-map.ts';

/**
 * Signatures this process has already verified (or made): event hash → signature. Checking
 * an ed25519 signature costs ~100× hashing the event, and every reader in a process (each
 * agent, the relay, the projections) meets the same events; so a reader that has recomputed
 * an event's hash and finds that exact (hash, signature) pair here skips the signature
 * check. The hash covers the source and everything else that is signed, so the pair alone
 * decides. Bounded: the oldest entries go first.
 */
export class SignatureCache {
  private readonly sigs: FifoMap<string, string>;

  constructor(capacity = 50_000) {
    this.sigs = new FifoMap(capacity);
  }

  has(hash: string, sig: string): boolean {
    return this.sigs.get(hash) === sig;
  }

  add(hash: string, sig: string): void {
    this.sigs.set(hash, sig);
  }

  get size(): number {
    return this.sigs.size;
  }
}
