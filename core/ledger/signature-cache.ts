/**
 * Signatures this process has already verified (or made): event hash → signature. Checking
 * an ed25519 signature costs ~100× hashing the event, and every reader in a process (each
 * agent, the relay, the projections) meets the same events; so a reader that has recomputed
 * an event's hash and finds that exact (hash, signature) pair here skips the signature
 * check. The hash covers the source and everything else that is signed, so the pair alone
 * decides. Bounded: the oldest entries go first.
 */
export class SignatureCache {
  private readonly sigs = new Map<string, string>();

  constructor(private readonly capacity = 50_000) {}

  has(hash: string, sig: string): boolean {
    return this.sigs.get(hash) === sig;
  }

  add(hash: string, sig: string): void {
    if (this.sigs.size >= this.capacity) {
      const oldest = this.sigs.keys().next();
      if (!oldest.done) this.sigs.delete(oldest.value);
    }
    this.sigs.set(hash, sig);
  }

  get size(): number {
    return this.sigs.size;
  }
}
