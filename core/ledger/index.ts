export { canonicalJson } from './canonical-json.ts';
export { FileKeyring, MemoryKeyring, privateKeyFromSeed, publicKeyFromRaw, rawPublicKey, type Keyring, type PublicKeyDirectory, type SigningKeys } from './keyring.ts';
export { checkEvent, checkHash, checkSignature, hashBatch, hashEvent, ledgerHeadHash, sealBatch, sealBatchPerEvent, sealableOf, signsFor } from './seal.ts';
export { checkWithCommit, COMMIT_PROOF_HEADER, parseCommitProof } from './commit-proof.ts';
export { describeBreak, verifyLedger, type AuditReport, type BrokenLink, type VerifyOptions } from './verify.ts';
export { SignerError, WorkerSigner } from './worker-signer.ts';
export { ChainVerifier, type ChainVerdict, type Judged, type VerifiedHead } from './chain-verifier.ts';
export { keysOf, type KeyResolver } from './key-resolver.ts';
export { SignatureCache } from './signature-cache.ts';
