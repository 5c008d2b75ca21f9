import { ANCHOR_SIGNER } from '../anchor/checkpoint.ts';

/** The party the site's admin key signs as (key registry entries, `caco keys`). */
export const ADMIN_PARTY = 'admin';

/**
 * Parties a site signs ledger events as by itself: its agents (those `caco run` and `caco
 * simulate` host, and `workload`, the simulator's submitter), the effects reactor, the gateway,
 * the anchor, admin and operator. Anyone else must be a party in the admin-signed key registry
 * (an outside agent's facts are signed in its name).
 *
 * The audit (`caco audit`) presents a source in this list as the site's own; so no outside party
 * may take one of these names: the gateway refuses to announce them, and `caco keys add` refuses
 * to register a third-party key under them. Otherwise the gateway would append that party's
 * facts with `source: "effects"` (say), and the audit would call them the site's.
 */
export const SITE_SIGNERS: ReadonlyArray<string> = ['grid', 'compute', 'coordination', 'grid-operator', 'workload', 'effects', 'gateway', ANCHOR_SIGNER, ADMIN_PARTY, 'operator'];

/** Whether `party` is one of the site's own signers (SITE_SIGNERS). */
export function isSiteSigner(party: string): boolean {
  return SITE_SIGNERS.includes(party);
}

/**
 * Why a key of `role` may not be registered for `party`, or undefined: a third-party key under
 * one of the site's own signers' names. Checked by the registry itself (`KeyAdmin.add`), so
 * every way of adding a key refuses it, and by `caco keys` first, to name its flag.
 */
export function reservedPartyReason(party: string, role: string): string | undefined {
  if (role !== 'third-party' || !isSiteSigner(party)) return undefined;
  return `"${party}" is one of the site's own signers (${SITE_SIGNERS.join(', ')}); a third-party key takes a name of its own`;
}
