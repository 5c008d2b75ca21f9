import type { Keyring } from './keyring.ts';
import { planSignatures } from './batch-signature.ts';

interface Waiting {
  readonly source: string;
  readonly hash: string;
  readonly resolve: (sig: string) => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Signs commit heads a turn of the event loop at a time: every head asked for before the loop
 * moves on is signed in one batch (one signature per source, `planSignatures`). For a store
 * whose appends run side by side, each awaiting the network (JetStream), where there is no
 * group commit to sign at. A head asked for alone is signed plainly, one turn later.
 */
export class BatchingSigner {
  private waiting: Waiting[] = [];

  constructor(private readonly keyring: Keyring) {}

  /** The `sig` for a head of `source` with this hash (hex). */
  sign(source: string, hash: string): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      if (this.waiting.push({ source, hash, resolve, reject }) === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const all = this.waiting;
    this.waiting = [];
    const bySource = new Map<string, Waiting[]>();
    for (const w of all) {
      const list = bySource.get(w.source);
      if (list) list.push(w);
      else bySource.set(w.source, [w]);
    }
    // Source by source, so a source that cannot sign refuses only its own appends.
    for (const list of bySource.values()) {
      let sigs: string[];
      try {
        const plan = planSignatures(list);
        sigs = plan.finish(plan.requests.map((r) => this.keyring.sign(r.source, r.message)));
      } catch (err) {
        for (const w of list) w.reject(err);
        continue;
      }
      list.forEach((w, i) => w.resolve(sigs[i]!));
    }
  }
}
