/**
 * Before a site writes to its JetStream ledger: is this the ledger its checkpoints were
 * written against? A ledger stream deleted behind the site's back would otherwise be
 * re-created empty on start, and the relay and agents, whose checkpoints point past the new
 * stream's head, would silently skip its first commits. Starting a new ledger must be a
 * decision: the first run (no stream, no checkpoints) or `--init`.
 */
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { LedgerContinuityError, type ContinuityVerdict } from './continuity-verdict.ts';
import { checkpointBucketName, checkpointNameOfKey, ledgerStreamName, POSITIONS_PER_COMMIT } from './jetstream-commit.ts';
import { isStreamNotFound } from './nats-streams.ts';
import { isCheckpointTag } from './checkpoint-value.ts';

export { LedgerContinuityError, type ContinuityVerdict } from './continuity-verdict.ts';

export interface LedgerState {
  readonly stream: string;
  /** Sequence of the stream's last commit; 0 when empty. `undefined` when the stream does not exist. */
  readonly lastSeq: number | undefined;
  /** Every checkpoint above 0 (a reader that has consumed something), by key. */
  readonly checkpoints: ReadonlyArray<{ readonly key: string; readonly position: number }>;
}

/** The commit a checkpoint position lies in (positions are `seq × 1024 + index`). */
function commitOf(position: number): number {
  return Math.floor(position / POSITIONS_PER_COMMIT);
}

function describe(cps: ReadonlyArray<{ key: string; position: number }>): string {
  const shown = cps.slice(0, 3).map((c) => `${c.key} at commit ${commitOf(c.position)}`);
  return shown.join(', ') + (cps.length > 3 ? ` and ${cps.length - 3} more` : '');
}

/** Pure: may the site open this ledger, and how? */
export function judgeLedgerContinuity(state: LedgerState, opts: { readonly init: boolean }): ContinuityVerdict {
  const { stream, lastSeq, checkpoints } = state;
  const head = lastSeq ?? 0;
  // Every listed checkpoint is above 0, so on a missing or empty stream all of them are stale.
  const past = checkpoints.filter((c) => head === 0 || commitOf(c.position) > head);
  if (opts.init) {
    if (head > 0) {
      return { ok: false, reason: `--init starts a new ledger, but ${stream} holds ${head} commit(s); --init is only for a missing or empty ledger (nothing was changed)` };
    }
    return { ok: true, action: 'init', reset: checkpoints.map((c) => c.key) };
  }
  if (past.length === 0) return { ok: true, action: lastSeq === undefined ? 'create' : 'continue' };
  const where = lastSeq === undefined ? `the ledger stream ${stream} does not exist` : lastSeq === 0 ? `the ledger stream ${stream} is empty` : `the ledger stream ${stream} ends at commit ${lastSeq}`;
  return {
    ok: false,
    reason:
      `${where}, but the site's checkpoints say it was read further (${describe(past)}): the ledger was deleted or replaced, NATS_URL points at another server, or the checkpoints were moved (whoever can write the bucket can). ` +
      'Not starting, so that no commit goes unrelayed. Run caco audit verify: if the ledger is whole and matches its anchor, set those checkpoints back to its head (docs/operations.md, "Checkpoints past the ledger\'s end"); otherwise restore the stream (or point at the right server), or start a new, empty ledger with --init, which resets the checkpoints.',
  };
}

/** Read the ledger stream's head and the checkpoints from the server. Creates nothing. */
export async function readLedgerState(jsm: JetStreamManager, site: string): Promise<LedgerState> {
  const stream = ledgerStreamName(site);
  let lastSeq: number | undefined;
  try {
    const info = await jsm.streams.info(stream);
    lastSeq = info.state.messages === 0 ? 0 : info.state.last_seq;
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  const bucket = checkpointBucketName(site);
  const kvStream = `KV_${bucket}`;
  const prefix = `$KV.${bucket}.`;
  const checkpoints: Array<{ key: string; position: number }> = [];
  let subjects: Record<string, number> = {};
  try {
    const info = await jsm.streams.info(kvStream, { subjects_filter: '>' });
    subjects = info.state.subjects ?? {};
  } catch (err) {
    if (!isStreamNotFound(err)) throw err;
  }
  for (const subject of Object.keys(subjects).sort()) {
    const m = await jsm.streams.getMessage(kvStream, { last_by_subj: subject });
    if (!m) continue;
    const op = m.header?.get('KV-Operation');
    if (op === 'DEL' || op === 'PURGE') continue;
    const position = Number(m.string());
    // A value that is not a position is the checkpoint store's to report when it is read.
    const key = subject.slice(prefix.length);
    // A tag is not a position; an agent's name holds ':', so its key is encoded (checkpointKey).
    if (isCheckpointTag(checkpointNameOfKey(key))) continue;
    if (Number.isSafeInteger(position) && position > 0) checkpoints.push({ key, position });
  }
  return { stream, lastSeq, checkpoints };
}

/**
 * Refuse (LedgerContinuityError) to open a ledger the checkpoints do not belong to; with
 * `init`, allow a new ledger where none or an empty one is, and set the stale checkpoints
 * back to 0. Returns what the caller may go on to do.
 */
export async function checkLedgerContinuity(nc: NatsConnection, site: string, opts: { readonly init: boolean }): Promise<ContinuityVerdict & { ok: true }> {
  const jsm = await jetstreamManager(nc);
  const verdict = judgeLedgerContinuity(await readLedgerState(jsm, site), opts);
  if (!verdict.ok) throw new LedgerContinuityError(`site ${site}: ${verdict.reason}`);
  if (verdict.action === 'init') {
    const js = jsm.jetstream();
    const prefix = `$KV.${checkpointBucketName(site)}.`;
    for (const key of verdict.reset) await js.publish(prefix + key, '0');
  }
  return verdict;
}
