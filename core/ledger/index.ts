export { canonicalJson } from './canonical-json.ts';
export { FileKeyring, MemoryKeyring, privateKeyFromSeed, publicKeyFromRaw, rawPublicKey, type Keyring, type PublicKeyDirectory, type SigningKeys } from './keyring.ts';
export { checkEvent, hashBatch, hashEvent, ledgerHeadHash, sealBatch, sealableOf } from './seal.ts';
export { describeBreak, verifyLedger, type AuditReport, type BrokenLink, type VerifyOptions } from './verify.ts';
export { SignerError, WorkerSigner } from './worker-signer.ts';
