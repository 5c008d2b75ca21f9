import type { KeyStanding } from '../identity/key-registry.ts';
import { RateLimiter, type RateLimit } from './rate-limit.ts';

/** The rate-limit key of everything not sent by a verified key: junk, bad envelopes, failed signatures. */
export const UNAUTHENTICATED = '(unauthenticated)';

/** A refusal for rate: its reason, and the wait it names, for a Retry-After. */
export interface AdmissionRefusal {
  readonly reason: string;
  readonly retryAfterMs: number;
}

/** What the intake asks before and after it looks a command's key up (see intakeCommand). */
export interface IntakeAdmission {
  /** A message that names no key to check (not JSON, not a command envelope, unsigned): the shared bucket. */
  unauthenticated(): AdmissionRefusal | undefined;
  /**
   * Before the key a signed command claims is looked up: a refusal reason, or go on, saying
   * whether the shared bucket was charged for the lookup (it is not charged again if the
   * command then fails).
   */
  beforeLookup(keyId: string, standing: KeyStanding): { readonly refused: AdmissionRefusal } | { readonly refused?: undefined; readonly sharedTaken: boolean };
  /** After authentication: `principalKeyId` when verified (that key's bucket), else a failure under `claimed`. */
  afterAuth(principalKeyId: string | undefined, claimed: string | undefined, sharedTaken: boolean): AdmissionRefusal | undefined;
}

/**
 * Who may have a command checked, and how often. Three kinds of token bucket, all at the same
 * rate (`CACO_COMMAND_RATE`):
 *
 * - per verified key, after the signature is checked: a key's own commands, never anyone
 *   else's (a flood in another's name cannot use up their allowance);
 * - per claimed key id, before the lookup, spent only by commands that then fail
 *   authentication under it (unknown key, revoked, bad signature, another party's name). Once a
 *   key id's bucket is empty, commands under it are refused without a lookup or a signature
 *   check, unless the key id is registered: a registered key's commands are always checked,
 *   so no one can hold back its holder by forging under its id;
 * - one shared bucket, `(unauthenticated)`: everything that names no key, every failure, and,
 *   before it happens, every lookup that would read the registry's store for a key id the
 *   registry does not hold (`unseen`: neither found by a lookup nor among the registry's key
 *   ids, which the identity reads before its first such answer and then at most every 5 s;
 *   KeyRegistry.standingNow).
 *   A stream of junk under ever new key ids costs at most the shared rate in reads of the
 *   registry, whatever its rate of messages; a registered key, used at this site before or not
 *   (after a restart, every key), never takes from this bucket.
 *
 * Buckets are kept for at most `maxSources` keys of each kind (least recently seen forgotten).
 */
export class CommandAdmission implements IntakeAdmission {
  private readonly keys: RateLimiter;
  private readonly claims: RateLimiter;

  constructor(
    readonly limit: RateLimit,
    private readonly now: () => number,
  ) {
    this.keys = new RateLimiter(limit);
    this.claims = new RateLimiter(limit);
  }

  unauthenticated(): AdmissionRefusal | undefined {
    return this.takeShared('unauthenticated senders');
  }

  beforeLookup(keyId: string, standing: KeyStanding): { readonly refused: AdmissionRefusal } | { readonly refused?: undefined; readonly sharedTaken: boolean } {
    // A registered key (found before, or among the registry's ids) is checked whatever others
    // send under its id: its commands cost a signature check, and a read of the store at most
    // once per cache time.
    if (standing === 'registered' || standing === 'known') return { sharedTaken: false };
    const now = this.now();
    if (this.claims.available(keyId, now) < 1) {
      const l = this.limit;
      const retryAfterMs = this.claims.retryAfterMs(keyId, now);
      return { refused: { reason: `rate limit: commands under key id "${keyId.slice(0, 64)}" that fail authentication may come ${l.perSecond} a second (burst ${l.burst}); retry in ${retryAfterMs} ms`, retryAfterMs } };
    }
    if (standing === 'unregistered') return { sharedTaken: false };
    // A read of the registry's store for an id it does not hold: the shared bucket pays for it.
    const refused = this.takeShared('unauthenticated senders and key ids not in the key registry');
    return refused ? { refused } : { sharedTaken: true };
  }

  afterAuth(principalKeyId: string | undefined, claimed: string | undefined, sharedTaken: boolean): AdmissionRefusal | undefined {
    const now = this.now();
    if (principalKeyId !== undefined) {
      const d = this.keys.take(principalKeyId, now, `key "${principalKeyId}"`);
      return d.ok ? undefined : d;
    }
    if (claimed !== undefined) this.claims.spend(claimed, 1, now);
    return sharedTaken ? undefined : this.takeShared('unauthenticated senders');
  }

  private takeShared(label: string): AdmissionRefusal | undefined {
    const d = this.keys.take(UNAUTHENTICATED, this.now(), label);
    return d.ok ? undefined : d;
  }
}
