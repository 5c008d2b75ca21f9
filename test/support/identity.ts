import { privateKeyFromSeed } from '../../core/ledger/keyring.ts';
export { newKeyFile, signWithKey } from '../../core/identity/index.ts';

/** A key file's private key (base64 seed) as a KeyObject. */
export const privateKeyFromSeedB64 = (b64: string) => privateKeyFromSeed(Buffer.from(b64, 'base64'));
