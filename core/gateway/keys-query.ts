import { KeysQuery } from '../../schemas/index.ts';
import type { Keyring } from '../ledger/keyring.ts';
import { defineQuery, type GatewayQuery } from './gateway.ts';

/**
 * `caco.<site>.q.keys`: the public keys the ledger's events are signed with, by source, in the
 * form of a ledger's keys.json. Outside agents are asked to verify what they read before they
 * act on it, and an event's signer is not always the key they registered: the gateway signs a
 * party's facts with a key the site holds in the party's name, and the site's agents sign
 * their own. Without this, an outsider had no way to get the keys short of a copy of the
 * site's key folder. The answer is only as trustworthy as the connection it came over: pin it
 * (or the site's keys.json handed over out of band) and compare, rather than fetch it on every
 * start.
 */
export function ledgerKeysQuery(keyring: Pick<Keyring, 'publicKeys'>): GatewayQuery<typeof KeysQuery> {
  return defineQuery({
    description: "the ledger's public keys by source (ed25519, base64 of the raw 32 bytes), as in a ledger's keys.json: each event's sig verifies with its source's key",
    request: KeysQuery,
    answer: () => ({ format: 'caco-keys/1', algorithm: 'ed25519', encoding: 'base64 raw 32-byte public key', keys: keyring.publicKeys() }),
  });
}
