/**
 * nats-server releases with a defect that can lose a replicated ledger's acknowledged
 * commits, so a site can be told at start rather than find out from `caco audit verify`.
 *
 * nats-io/nats-server#4365 (fixed in 2.9.21): a replicated stream counts the messages that
 * fail a check when applied (duplicate id, expected sequence); if the replicas' counts drift
 * apart around a leader change, a follower skips messages the leader acknowledged, and they
 * are gone if it is elected. Reproduced here with 2.9.10 (the Debian package) by pausing the
 * stream leader while a simulated day runs (test/cluster/faults.test.ts). The store avoids
 * the failing publishes in normal operation; during a fault some are unavoidable.
 */

const FIXED_IN: readonly [number, number, number] = [2, 9, 21];

/** `[major, minor, patch]` of a server version string such as `2.9.10` or `v2.10.0-beta.1`; undefined if unreadable. */
export function parseServerVersion(version: string | undefined): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(version ?? '');
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** A warning for a replicated ledger on a server with the defect; undefined when it does not apply. */
export function replicatedLedgerDefect(version: string | undefined, replicas: number): string | undefined {
  if (replicas <= 1) return undefined;
  const v = parseServerVersion(version);
  if (!v) return undefined;
  const [a, b, c] = v;
  const [x, y, z] = FIXED_IN;
  const before = a !== x ? a < x : b !== y ? b < y : c < z;
  if (!before) return undefined;
  return (
    `nats-server ${version} has a defect that can lose acknowledged commits of a replicated stream after a leader change ` +
    `(nats-io/nats-server#4365, fixed in ${FIXED_IN.join('.')}); the ledger has ${replicas} replicas: upgrade the servers. ` +
    '`caco audit verify` reports a lost commit as a break in its stream.'
  );
}
