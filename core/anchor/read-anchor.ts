import type { PublicKeyDirectory } from '../ledger/keyring.ts';
import type { AnchorInput } from './anchor-audit.ts';
import type { AnchorLog } from './anchor-log.ts';
import { checkAnchorChain } from './checkpoint.ts';

/** Read an anchor log and keep the checkpoints whose chain and signatures hold. */
export async function readAnchor(log: AnchorLog, keys: PublicKeyDirectory): Promise<AnchorInput> {
  const read = await log.read();
  const chain = checkAnchorChain(read.records, keys);
  const problem = chain.problem ?? read.problem;
  return { where: log.where, checkpoints: chain.valid, ...(problem ? { problem } : {}) };
}
