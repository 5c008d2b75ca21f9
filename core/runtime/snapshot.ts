/**
 * Agent snapshots: an agent with a long history restores from its last snapshot and replays
 * only the events after it, instead of folding its whole history.
 *
 * A snapshot is trusted only as far as it can be checked on restore:
 * - its `stateVersion` must equal the agent's current `snapshot.version` (a changed state
 *   shape or `evolve` bumps the version; the old snapshot is then ignored and re-taken);
 * - its digest must recompute and its signature (by the agent's key) verify, so a snapshot
 *   edited where it is stored is refused;
 * - the ledger must still hold the last event the state was folded from (`covered`), at the
 *   same position with the same id and hash, so a snapshot cannot carry state past a ledger
 *   that was replaced or rewritten there.
 * Anything else refused means a full replay and a fresh snapshot: never wrong state.
 */
import { createHash } from 'node:crypto';
import { InvalidArgumentError } from '../errors/errors.ts';
import { canonicalJson } from '../ledger/canonical-json.ts';
import type { Keyring } from '../ledger/keyring.ts';

/** How an agent opts in (`AgentDefinition.snapshot`). */
export interface SnapshotOptions<S> {
  /**
   * The version of the state's shape and of `evolve`. Bump it whenever either changes: a
   * snapshot of another version is never loaded, and the next restore re-takes it.
   */
  readonly version: number;
  /** Take a snapshot after this many events folded into the state since the last one. */
  readonly every: number;
  /**
   * State to text and back. Default JSON, which is enough for plain objects and arrays but
   * loses Maps, Sets, Dates and class instances: a state holding any of those needs both.
   */
  readonly encode?: (state: S) => string;
  readonly decode?: (text: string) => S;
}

export interface StreamHead {
  readonly stream: string;
  readonly revision: number;
  readonly hash: string;
}

/** The last event folded into a snapshot's state, as the ledger must still hold it. */
export interface CoveredEvent {
  readonly position: number;
  readonly id: string;
  readonly hash: string;
}

export interface AgentSnapshot {
  readonly agent: string;
  readonly stateVersion: number;
  /** Every ledger event at or before this position is folded into `state`; none after. */
  readonly position: number;
  /** The last event folded in; null for an agent whose streams were still empty. */
  readonly covered: CoveredEvent | null;
  /** Events folded into the state (for the logs; not checked). */
  readonly events: number;
  readonly state: string;
  /** Ids of inputs the agent's own events up to `position` answer (its de-duplication memory). */
  readonly handled: ReadonlyArray<string>;
  /**
   * The last event folded in of each stream the state was folded from: the verified heads a
   * restoring reader judges the following events against, instead of verifying each
   * stream's history again.
   */
  readonly heads: ReadonlyArray<StreamHead>;
  /** SHA-256 (hex) of the canonical JSON of every field above. */
  readonly digest: string;
  /** ed25519 signature of the digest bytes by the agent's key (base64). */
  readonly sig: string;
}

/** Where snapshots are kept: one per agent, the latest. */
export interface SnapshotStore {
  /** The agent's snapshot, or undefined when it has none. Throws when what is stored cannot be read. */
  load(agent: string): Promise<AgentSnapshot | undefined>;
  /** Replace the agent's snapshot. */
  save(snapshot: AgentSnapshot): Promise<void>;
}

export type UnsealedSnapshot = Omit<AgentSnapshot, 'digest' | 'sig'>;

export function snapshotDigest(s: UnsealedSnapshot): string {
  const body = { agent: s.agent, stateVersion: s.stateVersion, position: s.position, covered: s.covered, events: s.events, state: s.state, handled: s.handled, heads: s.heads };
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

export function sealSnapshot(s: UnsealedSnapshot, keyring: Keyring): AgentSnapshot {
  const digest = snapshotDigest(s);
  return { ...s, digest, sig: keyring.sign(s.agent, Buffer.from(digest, 'hex')) };
}

export function checkSnapshotOptions<S>(agent: string, o: SnapshotOptions<S>): void {
  if (!Number.isSafeInteger(o.version) || o.version < 1) throw new InvalidArgumentError(`${agent}.snapshot.version`, `must be an integer >= 1, got ${String(o.version)}`);
  if (!Number.isSafeInteger(o.every) || o.every < 1) throw new InvalidArgumentError(`${agent}.snapshot.every`, `must be a number of events >= 1, got ${String(o.every)}`);
  if ((o.encode === undefined) !== (o.decode === undefined)) throw new InvalidArgumentError(`${agent}.snapshot`, 'give both encode and decode, or neither (JSON)');
}

/**
 * Pure: may this snapshot be loaded for this agent? `heldAtCovered` is what the ledger holds
 * at the covered position now (undefined when nothing). Returns the reason when not.
 */
export function judgeSnapshot(
  s: AgentSnapshot,
  want: { readonly agent: string; readonly version: number; readonly head: number; readonly keys: Pick<Keyring, 'verify'> },
  heldAtCovered: CoveredEvent | undefined,
): string | null {
  if (s.agent !== want.agent) return `it belongs to agent "${s.agent}"`;
  if (s.stateVersion !== want.version) return `its state version is ${s.stateVersion}, the agent's is ${want.version}`;
  if (snapshotDigest(s) !== s.digest) return 'its digest does not recompute: it was changed after it was taken';
  if (!want.keys.verify(s.agent, Buffer.from(s.digest, 'hex'), s.sig)) return `its signature does not verify with agent "${s.agent}"'s key`;
  if (s.position > want.head) return `it covers position ${s.position}, past the ledger's head ${want.head}`;
  if (s.covered) {
    const c = s.covered;
    if (!heldAtCovered) return `the ledger holds no event at position ${c.position}, which it covers`;
    if (heldAtCovered.position !== c.position || heldAtCovered.id !== c.id || heldAtCovered.hash !== c.hash) {
      return `the ledger's event at position ${c.position} is not the one it covers (id ${heldAtCovered.id}, hash ${heldAtCovered.hash.slice(0, 12)}… instead of ${c.id}, ${c.hash.slice(0, 12)}…)`;
    }
  }
  return null;
}

/**
 * The largest snapshot record stored or read, in bytes of JSON. A store is outside the process:
 * a record (or a KV head naming parts) far larger would be read whole into memory before any
 * check, and a restore that runs out of memory would do so again at every start. An agent
 * whose state outgrows it replays instead (the save is refused and logged).
 */
export const MAX_SNAPSHOT_BYTES = 256 * 1024 * 1024;

/** Refuse (InvalidArgumentError) a snapshot of `bytes` over MAX_SNAPSHOT_BYTES, stored or read. */
export function checkSnapshotSize(bytes: number, where: string): void {
  if (bytes > MAX_SNAPSHOT_BYTES) throw new InvalidArgumentError(where, `the snapshot is ${bytes} bytes, over the ${MAX_SNAPSHOT_BYTES} a store may hold (MAX_SNAPSHOT_BYTES); the agent replays instead`);
}

/** Parse a stored snapshot record, checking its shape (never trusting it: see judgeSnapshot). */
export function parseSnapshot(text: string, where: string): AgentSnapshot {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(where, `the stored snapshot is not JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const o = v as Partial<Record<keyof AgentSnapshot, unknown>>;
  const str = (x: unknown) => typeof x === 'string';
  const int = (x: unknown) => Number.isSafeInteger(x);
  const headsOk = Array.isArray(o.heads) && (o.heads as unknown[]).every((h) => typeof h === 'object' && h !== null && str((h as StreamHead).stream) && int((h as StreamHead).revision) && str((h as StreamHead).hash));
  const coveredOk = o.covered === null || (typeof o.covered === 'object' && o.covered !== null && int((o.covered as CoveredEvent).position) && str((o.covered as CoveredEvent).id) && str((o.covered as CoveredEvent).hash));
  if (!(o && str(o.agent) && int(o.stateVersion) && int(o.position) && coveredOk && int(o.events) && str(o.state) && Array.isArray(o.handled) && o.handled.every(str) && headsOk && str(o.digest) && str(o.sig))) {
    throw new InvalidArgumentError(where, 'the stored snapshot does not have the fields of one');
  }
  return o as AgentSnapshot;
}

/** Snapshots in memory (tests, simulations that do not keep them). */
export class MemorySnapshotStore implements SnapshotStore {
  private readonly byAgent = new Map<string, string>();

  async load(agent: string): Promise<AgentSnapshot | undefined> {
    const t = this.byAgent.get(agent);
    return t === undefined ? undefined : parseSnapshot(t, `snapshot of ${agent}`);
  }

  async save(s: AgentSnapshot): Promise<void> {
    this.byAgent.set(s.agent, JSON.stringify(s));
  }

  /** For tests: change what is stored, as someone with access to the store could. */
  unsafeRewrite(agent: string, edit: (s: AgentSnapshot) => AgentSnapshot): void {
    const t = this.byAgent.get(agent);
    if (t !== undefined) this.byAgent.set(agent, JSON.stringify(edit(JSON.parse(t) as AgentSnapshot)));
  }
}

/**
 * A store opened on first use: a stack offers snapshots to every runtime, but makes its
 * table or bucket only once an agent that opts in loads or saves one.
 */
export function lazySnapshotStore(open: () => Promise<SnapshotStore & { close?(): Promise<void> }>): SnapshotStore & { close(): Promise<void> } {
  let opened: Promise<SnapshotStore & { close?(): Promise<void> }> | undefined;
  const get = () => (opened ??= open());
  return {
    load: async (agent) => (await get()).load(agent),
    save: async (s) => (await get()).save(s),
    close: async () => {
      if (opened) await (await opened.catch(() => undefined))?.close?.();
    },
  };
}
