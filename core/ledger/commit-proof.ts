import type { Envelope } from '../envelope/envelope.ts';
import { ChainVerifier } from './chain-verifier.ts';
import type { KeyResolver } from './key-resolver.ts';
import { checkEvent } from './seal.ts';

/**
 * The header a relayed event carries when its commit's head signs for it (`sig: ''`): the
 * events after it in its commit, up to and including the signed head, as a JSON array of
 * envelopes. With them a subscriber that sees the event alone (a bus consumer, a third
 * party) recomputes the chain from the event to the head and checks the head's signature.
 */
export const COMMIT_PROOF_HEADER = 'Caco-Commit-Proof';

/** At most this many events in a proof: a commit holds at most 1,024. */
const MAX_PROOF_EVENTS = 1024;

/**
 * An event's own integrity, with the rest of its commit when it is not signed itself:
 * its hash, then — signed — its signature, or — unsigned — each later event's hash, the
 * chain from the event to the commit's signed head, and that head's signature by a
 * registered key of the event's source covering it. Returns the reason or null.
 * (The event's place in its stream, its link to the event before, is not judged here.)
 */
export function checkWithCommit(e: Envelope, tail: ReadonlyArray<Envelope> | undefined, keys: KeyResolver): string | null {
  if (e.sig !== '' || tail === undefined) return checkEvent(e, keys);
  if (tail.length === 0 || tail.length > MAX_PROOF_EVENTS) return `unsigned, and its commit proof holds ${tail.length} events (1 to ${MAX_PROOF_EVENTS})`;
  const v = new ChainVerifier(keys);
  // Taken as placed: the link to the event before is the reader's affair (it has the stream).
  if (Number.isInteger(e.revision) && e.revision > 0) v.seed(String(e.stream), { revision: e.revision - 1, hash: String(e.prevHash) });
  let verdict: string | null | undefined;
  const note = (judged: ReturnType<ChainVerifier['push']>) => {
    for (const j of judged) if (j.event === e) verdict = j.verdict.ok ? null : j.verdict.reason;
  };
  note(v.push(e));
  for (const x of tail) {
    if (verdict !== undefined) break;
    if (typeof x !== 'object' || x === null) return 'its commit proof holds something that is not an event';
    note(v.push(x));
  }
  if (verdict === undefined) note(v.flush());
  // (null is a verdict: proven.)
  return verdict === undefined ? 'unsigned, and its commit proof ends without a signed head' : verdict;
}

/** The proof header's events, or a reason it cannot be read. */
export function parseCommitProof(header: string | undefined): ReadonlyArray<Envelope> | undefined | { readonly problem: string } {
  if (header === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(header);
  } catch (err) {
    return { problem: `${COMMIT_PROOF_HEADER}: not JSON (${err instanceof Error ? err.message : String(err)})` };
  }
  if (!Array.isArray(parsed)) return { problem: `${COMMIT_PROOF_HEADER}: not an array of events` };
  return parsed as Envelope[];
}
