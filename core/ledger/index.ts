export { canonicalJson } from './canonical-json.ts';
export { FileKeyring, MemoryKeyring, privateKeyFromSeed, publicKeyFromRaw, rawPublicKey, type Keyring, type PublicKeyDirectory, type SigningKeys } from './keyring.ts';
export { checkEvent, hashBatch, hashEvent, ledgerHeadHash, sealBatch, sealableOf } from './seal.ts';
export { describeBreak, verifyLedger, type AuditReport, type BrokenLink, type VerifyOptions } from './verify.ts';
export { SignerError, WorkerSigner } from './worker-signer.ts';
export { ChainVerifier, type ChainVerdict, type VerifiedHead } from './chain-verifier.ts';
export { keysOf, type KeyResolver } from './key-resolver.ts';
export { SignatureCache } from './signature-cache.ts';
