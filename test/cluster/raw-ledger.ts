/**
 * The ledger stream as the server holds it, read message by message from the leader and
 * checked for what the fault tests care about: every ledger stream's revisions follow on
 * without a gap or a repeat. Read raw, not through the store, so a failure says whether the
 * server lost or reordered messages or a reader misread them.
 */
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { tryDecodeCommit } from '../../core/store/jetstream-commit.ts';
import { retryWhileUnavailable } from '../../core/store/nats-retry.ts';

export interface RawLedgerReport {
  readonly events: number;
  readonly messages: number;
  /** One line per break, e.g. `seq 249: grid-signals revision 13 after 11`. */
  readonly breaks: ReadonlyArray<string>;
}

export async function checkRawLedger(servers: string, streamName: string): Promise<RawLedgerReport> {
  const nc = await connect({ servers: servers.split(','), timeout: 2000, maxReconnectAttempts: 0 });
  try {
    const jsm = await retryWhileUnavailable(() => jetstreamManager(nc, { timeout: 10_000 }), { budgetMs: 30_000 });
    const { state } = await retryWhileUnavailable(() => jsm.streams.info(streamName), { budgetMs: 30_000 });
    const last = new Map<string, number>();
    const breaks: string[] = [];
    let events = 0;
    for (let seq = state.first_seq; seq <= state.last_seq && state.messages > 0; seq++) {
      const m = await retryWhileUnavailable(() => jsm.streams.getMessage(streamName, { seq }), { budgetMs: 30_000 });
      if (!m) {
        breaks.push(`seq ${seq}: missing`);
        continue;
      }
      const d = tryDecodeCommit(streamName, seq, m.data);
      if ('unreadable' in d) {
        breaks.push(`seq ${seq}: not a commit (${d.reason.slice(0, 80)})`);
        continue;
      }
      for (const e of d) {
        events++;
        const prev = last.get(e.stream) ?? -1;
        if (e.revision !== prev + 1) breaks.push(`seq ${seq}: ${e.stream} revision ${e.revision} after ${prev < 0 ? 'none' : prev}`);
        last.set(e.stream, e.revision);
      }
    }
    return { events, messages: state.messages, breaks };
  } finally {
    await nc.close();
  }
}
