/** What `Runtime.health()` reports: each ledger subscription, the lockstep scheduler and the relay. */
export interface SubscriptionHealth {
  /** `agent:<name>`, `lockstep` or `relay`. */
  readonly name: string;
  /** Position of the last ledger event it delivered. */
  readonly position: number;
  /** Ledger head minus `position`: events stored and not yet delivered. */
  readonly lag: number;
  readonly alive: boolean;
  /** Why it is dead, when it is. */
  readonly reason?: string;
}

export interface RuntimeHealth {
  readonly ok: boolean;
  readonly site: string;
  readonly head: number;
  readonly subscriptions: ReadonlyArray<SubscriptionHealth>;
  /** One line per dead part; empty when `ok`. */
  readonly reasons: ReadonlyArray<string>;
}

/** A subscription's state as the runtime sees it, before it is judged. */
export interface SubscriptionProbe {
  readonly name: string;
  readonly position: number;
  /** The error that ended it, if any (a subscription that failed keeps it). */
  readonly failure: unknown;
  /** Set when it is not running although the runtime is (stopped, never started). */
  readonly stopped?: string;
}

function describe(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).slice(0, 300);
}

/**
 * Judge the probes: ok only when the runtime runs, every subscription is alive and there are no
 * `problems` (failures found apart from the subscriptions: an agent that gave up, the anchor).
 */
export function judgeHealth(site: string, head: number, running: string | undefined, probes: ReadonlyArray<SubscriptionProbe>, problems: ReadonlyArray<string> = []): RuntimeHealth {
  const subscriptions = probes.map((p): SubscriptionHealth => {
    const reason = p.failure !== undefined ? `failed: ${describe(p.failure)}` : p.stopped;
    return { name: p.name, position: p.position, lag: Math.max(0, head - p.position), alive: reason === undefined, ...(reason !== undefined ? { reason } : {}) };
  });
  const reasons = [...(running ? [running] : []), ...subscriptions.filter((s) => !s.alive).map((s) => `${s.name} ${s.reason}`), ...problems];
  return { ok: reasons.length === 0, site, head, subscriptions, reasons };
}
