import type { Envelope } from '../envelope/envelope.ts';
import type { KeyResolver } from '../ledger/key-resolver.ts';
import { checkWithCommit } from '../ledger/commit-proof.ts';
import { UnverifiedHeadError } from './jetstream-commit.ts';

/**
 * Events already stored under the ids of an append are that append (a retry, answered with
 * them) only if they prove themselves, up to their commit's signed head: event ids can be
 * predicted (an agent's derive from its input), and an event put under one by someone else would
 * otherwise be answered, unchecked, as what the append stored, and its caller would fold it.
 * Every store asks this of what it finds stored before it answers a retry.
 */
export function refuseUnprovenRetry(ledger: string, stream: string, stored: ReadonlyArray<Envelope>, keys: KeyResolver): void {
  const first = stored[0]!;
  const problem = checkWithCommit(first, stored.slice(1), keys);
  if (problem !== null) {
    throw new UnverifiedHeadError(ledger, first.position, `the events stored under the ids of this append to ${stream} do not verify (${problem}): they were put or edited there; not taken as this append`);
  }
}
