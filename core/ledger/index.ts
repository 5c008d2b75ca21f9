export { canonicalJson } from './canonical-json.ts';
export { FileKeyring, MemoryKeyring, privateKeyFromSeed, publicKeyFromRaw, rawPublicKey, type Keyring, type PublicKeyDirectory } from './keyring.ts';
export { checkEvent, hashEvent, ledgerHeadHash, sealBatch, sealableOf } from './seal.ts';
export { verifyLedger, type AuditReport, type BrokenLink } from './verify.ts';
